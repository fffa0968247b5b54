"""`o211 explain`: why a contact got its outcome ("why was this call not counted?").

Reads the warehouse read-only and briefly: the contact's rows as loaded (staging, identities
hashed), its flags in the channel's fact table, and for calls the auto-dialer burst around it.
Each rule of the channel's precedence list (rules.md) is shown with matched or not and why; the
outcome is the first rule that matched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table

from o211.calendar import TORONTO
from o211.dbt_config import var_defaults
from o211.elements import element_counting
from o211.paths import DataPaths
from o211.warehouse import connect

CHANNELS = ("calls", "chats", "emails", "texts")
STAGING = {
    "calls": "staging.stg_raw__calls",
    "chats": "staging.stg_raw__chats",
    "emails": "staging.stg_raw__emails",
    "texts": "staging.stg_raw__texts",
}


@dataclass(frozen=True)
class Rule:
    step: int
    outcome: str
    matched: bool
    why: str


def _category(contact: dict[str, Any]) -> str:
    category = contact.get("disposition_category") or "service"
    unmapped = contact.get("unmapped_dispositions") or (
        contact.get("disposition_code") if contact.get("is_unmapped") else None
    )
    note = f" (unmapped code {unmapped!r} counts as service)" if unmapped else ""
    return f"disposition category {category}{note}"


def _yes(flag: Any) -> bool:
    return bool(flag)


def call_rules(call: dict[str, Any], settings: dict[str, str]) -> list[Rule]:
    """The eight steps of rules.md "Calls: outcome, first match wins" for one call."""
    pattern = settings["test_queue_pattern"]
    short = int(settings["autodialer_max_talk_seconds"])
    threshold = int(settings["short_abandon_seconds"])
    talk = call.get("talk_seconds") or 0
    queued, answered = call.get("queued_at"), call.get("answered_at")
    in_queue = (
        (call["ended_at"] - queued).total_seconds()
        if queued is not None and answered is None
        else None
    )
    contains = "contains" if pattern.lower() in str(call.get("queue", "")).lower() else "lacks"
    listed = "is" if call.get("is_blocklisted") else "is not"
    if call.get("in_burst"):
        burst = f"in an auto-dialer burst anchored by call {call.get('burst_anchor_contact_id')}"
    elif call.get("caller_withheld"):
        burst = "caller withheld: never grouped, so never in a burst"
    elif talk >= short:
        burst = f"talk time {talk:g}s is not short (under {short}s), so not in a burst"
    else:
        burst = (
            f"short call; {call.get('short_calls_in_window', 'too few')} short call(s) of this "
            f"caller start in its {settings['autodialer_window_minutes']}-minute window "
            f"({settings['autodialer_min_calls']} anchor a burst) and no earlier anchored window "
            "contains it"
        )
    return [
        Rule(1, "test", _yes(call.get("is_test")),
             f"queue {call.get('queue')!r} {contains} {pattern!r}; {_category(call)}"),
        Rule(2, "spam", _yes(call.get("is_spam")),
             f"{_category(call)}; caller {listed} on the blocklist"),
        Rule(3, "auto_dialer", _yes(call.get("is_auto_dialer")), f"{_category(call)}; {burst}"),
        Rule(4, "static", _yes(call.get("is_static")), _category(call)),
        Rule(5, "not_offered", _yes(call.get("is_not_offered")),
             f"queued_at {'blank' if queued is None else 'set'}, answered_at "
             f"{'blank' if answered is None else 'set'} (both blank = left in the IVR)"),
        Rule(6, "short_abandon", _yes(call.get("is_short_abandon")),
             "rule switched off (short_abandon_seconds = 0)" if threshold == 0 else
             ("not an abandon" if in_queue is None else
              f"waited {in_queue:g}s in queue; threshold {threshold}s")),
        Rule(7, "abandoned", _yes(call.get("is_abandoned")),
             "queued and never answered" if call.get("is_abandoned") else
             ("answered" if answered is not None else "never queued")),
        Rule(8, "counted", _yes(call.get("is_answered")),
             f"answered, talk time {talk:g}s" if answered is not None else "never answered"),
    ]  # fmt: skip


def chat_rules(chat: dict[str, Any]) -> list[Rule]:
    """rules.md "Chats": test -> spam -> abandoned -> counted."""
    answered = chat.get("answered_at") is not None
    return [
        Rule(1, "test", _yes(chat.get("is_test")), _category(chat)),
        Rule(2, "spam", _yes(chat.get("is_spam")),
             f"spam_flag {'true' if chat.get('spam_flag') else 'false'}; {_category(chat)} "
             "(auto_dialer and static count as spam on a chat)"),
        Rule(3, "abandoned", _yes(chat.get("is_abandoned")),
             "answered by a counsellor" if answered else "no counsellor reply (answered_at blank)"),
        Rule(4, "counted", answered, "answered" if answered else "never answered"),
    ]  # fmt: skip


def message_rules(channel: str, message: dict[str, Any]) -> list[Rule]:
    """rules.md "Emails and texts": test -> spam -> counted."""
    blocklist = ""
    if channel == "texts":
        blocklist = (
            f"; sender {'is' if message.get('is_blocklisted') else 'is not'} on the blocklist"
        )
    return [
        Rule(1, "test", _yes(message.get("is_test")), _category(message)),
        Rule(2, "spam", _yes(message.get("is_spam")),
             f"spam_flag {'true' if message.get('spam_flag') else 'false'}; {_category(message)}"
             f"{blocklist}"),
        Rule(3, "counted", True, "every other conversation counts once"),
    ]  # fmt: skip


def first_match(rules: list[Rule]) -> Rule | None:
    return next((rule for rule in rules if rule.matched), None)


def _rows(con: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@dataclass
class Evidence:
    contact: dict[str, Any] | None
    records: list[dict[str, Any]]
    settings: dict[str, str]
    anchor: dict[str, Any] | None = None
    window: list[dict[str, Any]] | None = None


def read_evidence(paths: DataPaths, channel: str, contact_id: str) -> Evidence:
    if not paths.warehouse.is_file():
        raise RuntimeError(f"no warehouse at {paths.warehouse}; run o211 ingest and o211 build")
    with connect(paths.warehouse, read_only=True) as con:
        # The dbt var defaults, overridden by the values in force that marts.rules_config holds.
        settings = dict(var_defaults())
        for row in _rows(
            con, "select name, value from marts.rules_config where source = 'var'", []
        ):
            settings[row["name"]] = row["value"]
        facts = _rows(con, f"select * from marts.fct_{channel} where contact_id = ?", [contact_id])
        records = _rows(
            con,
            f"select * from {STAGING[channel]} where contact_id = ? "
            "order by 1, load_id, source_row",
            [contact_id],
        )
        evidence = Evidence(facts[0] if facts else None, records, settings)
        if channel == "calls" and evidence.contact is not None:
            own = _rows(
                con,
                "select short_calls_in_window from intermediate.int_calls__autodialer_bursts "
                "where contact_id = ?",
                [contact_id],
            )
            if own:
                evidence.contact["short_calls_in_window"] = own[0]["short_calls_in_window"]
        anchor_id = evidence.contact.get("burst_anchor_contact_id") if evidence.contact else None
        if channel == "calls" and anchor_id:
            minutes = int(settings["autodialer_window_minutes"])
            [evidence.anchor] = _rows(
                con,
                "select * from intermediate.int_calls__autodialer_bursts where contact_id = ?",
                [anchor_id],
            )
            start: datetime = evidence.anchor["started_at"]
            evidence.window = _rows(
                con,
                "select calls.contact_id, calls.started_at, calls.talk_seconds, bursts.in_burst, "
                "calls.outcome from marts.fct_calls as calls left join "
                "intermediate.int_calls__autodialer_bursts as bursts using (contact_id) "
                "where calls.caller_key = ? and calls.started_at >= ? and calls.started_at < ? "
                "order by calls.started_at",
                [evidence.anchor["caller_key"], start, start + timedelta(minutes=minutes)],
            )
    return evidence


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(TORONTO).isoformat() if value.tzinfo else value.isoformat()
    text = str(value)
    return (
        text[:12] + "…" if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else text
    )


def print_explanation(paths: DataPaths, channel: str, contact_id: str) -> None:
    console = Console()
    evidence = read_evidence(paths, channel, contact_id)
    if evidence.contact is None:
        raise LookupError(f"no {channel} contact with id {contact_id!r} in marts.fct_{channel}")
    contact = evidence.contact
    console.print(
        f"[bold]{channel} contact {contact_id}[/] ({contact.get('local_date')}, fiscal year "
        f"{contact.get('fiscal_year')}); times in Toronto, identities are keyed hashes"
    )
    # One column per record, one row per field: a call has few segments but many fields, and
    # this stays readable in an 80-column terminal.
    records = Table(title="Records as loaded (staging: the later file wins per record key)")
    hidden = {"contact_id", "local_date"}
    fields = [c for c in (evidence.records[0] if evidence.records else {}) if c not in hidden]
    records.add_column("field", style="bold")
    for number in range(1, len(evidence.records) + 1):
        records.add_column(f"record {number}", overflow="fold")
    for field in fields:
        records.add_row(field, *(_text(record[field]) for record in evidence.records))
    console.print(records)

    if channel == "calls":
        rules = call_rules(contact, evidence.settings)
    elif channel == "chats":
        rules = chat_rules(contact)
    else:
        rules = message_rules(channel, contact)
    decided = first_match(rules)
    table = Table(title="Rules, first match wins (rules.md)")
    for column in ("step", "outcome", "matched", "why"):
        table.add_column(column, overflow="fold")
    for rule in rules:
        mark = "[green]yes[/]" if rule.matched else "no"
        if rule is decided:
            mark = "[bold green]yes: decides[/]"
        table.add_row(str(rule.step), rule.outcome, mark, rule.why)
    console.print(table)

    if evidence.anchor is not None and evidence.window is not None:
        s = evidence.settings
        window = Table(
            title=(
                f"Burst: anchor call {evidence.anchor['contact_id']} at "
                f"{_text(evidence.anchor['started_at'])} has "
                f"{evidence.anchor['short_calls_in_window']} short calls (under "
                f"{s['autodialer_max_talk_seconds']}s) in [start, start + "
                f"{s['autodialer_window_minutes']} min); "
                f"{s['autodialer_min_calls']} anchor a burst"
            )
        )
        for column in ("contact_id", "started_at", "talk_seconds", "in_burst", "outcome"):
            window.add_column(column)
        for call in evidence.window:
            window.add_row(*(_text(call[c]) for c in ("contact_id", "started_at", "talk_seconds",
                                                       "in_burst", "outcome")))  # fmt: skip
        console.print(window)

    outcome = contact.get("outcome")
    element = element_counting(channel, str(outcome))
    counted = f"counted in {element.name!r}" if element else "not counted in any element"
    console.print(f"Outcome: [bold]{outcome}[/] ({counted})")
    if decided is not None and decided.outcome != outcome:
        console.print(
            f"[red]Warning: the rules above give {decided.outcome}, the warehouse holds {outcome}; "
            "rebuild (o211 build) and report this contact to the data team.[/]"
        )
