"""`o211 explain`: each rule of the precedence lists reads right, and the first match decides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from o211.dbt_config import var_defaults
from orchestration.explain import (
    call_rules,
    chat_rules,
    first_match,
    message_rules,
)

# The dbt var defaults of dbt_project.yml, the settings a fresh warehouse holds.
DEFAULT_SETTINGS = var_defaults()
START = datetime(2025, 5, 8, 15, 0, tzinfo=UTC)


def _call(**fields):
    call = {
        "queue": "211_EN",
        "disposition_category": "service",
        "talk_seconds": 300,
        "queued_at": START + timedelta(seconds=10),
        "answered_at": START + timedelta(seconds=40),
        "ended_at": START + timedelta(seconds=340),
        "caller_withheld": False,
        "is_answered": True,
    }
    return {**call, **fields}


def test_answered_call_is_counted_by_rule_eight():
    rules = call_rules(_call(), DEFAULT_SETTINGS)
    assert [r.outcome for r in rules] == [
        "test",
        "spam",
        "auto_dialer",
        "static",
        "not_offered",
        "short_abandon",
        "abandoned",
        "counted",
    ]
    decided = first_match(rules)
    assert decided is not None and (decided.step, decided.outcome) == (8, "counted")
    assert rules[0].why.startswith("queue '211_EN' lacks 'TEST'")
    assert "talk time 300s is not short" in rules[2].why
    assert rules[5].why == "rule switched off (short_abandon_seconds = 0)"


def test_burst_call_names_its_anchor_and_withheld_callers_are_never_grouped():
    burst = call_rules(
        _call(talk_seconds=4, in_burst=True, is_auto_dialer=True, burst_anchor_contact_id="A1"),
        DEFAULT_SETTINGS,
    )
    assert first_match(burst).outcome == "auto_dialer"
    assert "anchored by call A1" in burst[2].why
    withheld = call_rules(_call(talk_seconds=4, caller_withheld=True), DEFAULT_SETTINGS)
    assert "never grouped" in withheld[2].why
    lonely = call_rules(_call(talk_seconds=4, short_calls_in_window=3), DEFAULT_SETTINGS)
    assert "3 short call(s)" in lonely[2].why and "5 anchor a burst" in lonely[2].why


def test_abandoned_call_with_short_abandon_switched_on():
    settings = {**DEFAULT_SETTINGS, "short_abandon_seconds": "30"}
    call = _call(
        answered_at=None,
        ended_at=START + timedelta(seconds=70),
        talk_seconds=0,
        is_answered=False,
        is_abandoned=True,
    )
    rules = call_rules(call, settings)
    assert rules[5].why == "waited 60s in queue; threshold 30s"
    assert first_match(rules).outcome == "abandoned"
    assert rules[7].why == "never answered"


def test_test_queue_and_unmapped_code_are_explained():
    rules = call_rules(
        _call(queue="211_test_line", is_test=True, unmapped_dispositions="Hoax Caller"),
        DEFAULT_SETTINGS,
    )
    assert first_match(rules).outcome == "test"
    assert "contains 'TEST'" in rules[0].why
    assert "unmapped code 'Hoax Caller' counts as service" in rules[0].why


def test_chat_and_message_rules():
    chat = chat_rules({"spam_flag": True, "is_spam": True, "answered_at": None})
    assert first_match(chat).outcome == "spam"
    assert chat[1].why.startswith("spam_flag true")
    abandoned = chat_rules({"is_abandoned": True, "answered_at": None})
    assert first_match(abandoned).outcome == "abandoned"
    text = message_rules("texts", {"is_blocklisted": True, "is_spam": True})
    assert first_match(text).outcome == "spam" and "sender is on the blocklist" in text[1].why
    email = message_rules("emails", {})
    assert first_match(email).outcome == "counted" and "blocklist" not in email[1].why
