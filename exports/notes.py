"""The Notes sheet in words: methodology per element (with the rule values in force) and the
data-quality warnings of `marts.data_quality_notes`, for the ministry liaison to read."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from exports.report_data import QualityNote, ReportData
from o211.elements import element_of_order

CATEGORY_WORDS = {
    "unmapped_disposition": "Unmapped disposition",
    "invalid_survey_answer": "Invalid survey answer",
    "excluded_hostname": "Excluded website hostname",
    "missing_day": "Day with no data",
    "finance_revision": "Revised finance month",
    "no_valid_survey": "No valid survey response",
}
CATEGORY_EXPLANATIONS = {
    "unmapped_disposition": "wrap-up code not in the disposition seed; counted as service."
    " Map it in dbt_project/seeds/disposition_categories.csv if it should be excluded",
    "invalid_survey_answer": "answer that is not very satisfied, satisfied or not satisfied;"
    " left out of the satisfaction figure",
    "excluded_hostname": "website sessions on a hostname not in web_hostnames; not counted",
    "missing_day": "no contact at all on this day: probably a missing extract",
    "finance_revision": "a later finance upload replaced every earlier line of this month",
    "no_valid_survey": "no valid survey response in the period: the figure is left blank",
}


UNDESCRIBED = "Computed by the dbt marts; see the rules in force below."

# Seeds whose rows the workbook already shows in full: named, not repeated, in the Notes.
SEEDS_SHOWN_ELSEWHERE = {
    "service_data_elements": "the element names, definitions and units of the Service Data sheet",
}


@dataclass(frozen=True)
class QualityWarning:
    section: str
    subject: str
    note: str
    count: int | None
    amount: Decimal | None


def seed_row_text(value: str) -> str:
    """A seed row recorded as JSON in words: `{"code":"Test","category":"test"}` is `Test: test`."""
    try:
        row = json.loads(value)
    except json.JSONDecodeError:
        return value
    if not isinstance(row, dict) or not row:
        return value
    first, *rest = (str(v).lower() if isinstance(v, bool) else str(v) for v in row.values())
    return f"{first}: {', '.join(rest)}" if rest else first


def rules_in_force(data: ReportData) -> list[tuple[str, str]]:
    """(setting, value) for every var, and one line per seed with all its rows."""
    lines: list[tuple[str, str]] = []
    seeds: dict[str, list[str]] = {}
    for rule in data.rules:
        if rule.source == "seed":
            # rules_config names a seed row `<seed>:<row as JSON>`.
            seed = rule.name.split(":", 1)[0]
            seeds.setdefault(seed, []).append(seed_row_text(rule.value))
        else:
            lines.append((f"{rule.name} ({rule.source})", rule.value))
    for seed, rows in seeds.items():
        if seed in SEEDS_SHOWN_ELSEWHERE:
            text = f"{len(rows)} rows: {SEEDS_SHOWN_ELSEWHERE[seed]}"
        else:
            text = "; ".join(rows)
        lines.append((f"{seed} (seed)", text))
    return lines


def _rule_lookup(data: ReportData) -> Callable[[str, str], str]:
    values = {name.rsplit(" (", 1)[0]: value for name, value in rules_in_force(data)}

    def rule(name: str, fallback: str) -> str:
        value = values.get(name)
        return f"{value} ({name})" if value not in (None, "") else fallback

    return rule


def methodology(data: ReportData) -> list[tuple[str, str]]:
    """One plain-language paragraph per element of the schedule, in schedule order."""
    rule = _rule_lookup(data)
    start, end = data.stage.period_start, data.stage.period_end
    period = f"Contacts are dated by their local date in Toronto from {start} to {end}."
    calls_exclusions = (
        "Each call is one contact id however many transfers it had. Not counted: calls to a"
        f" queue whose name contains {rule('test_queue_pattern', 'the test pattern')} or"
        " wrapped up as test; spam (wrap-up code or a caller on the staff blocklist);"
        " auto dialers (wrap-up code, or a burst of at least"
        f" {rule('autodialer_min_calls', 'the configured number of')} calls shorter than"
        f" {rule('autodialer_max_talk_seconds', 'the configured')} seconds of talk from one"
        f" caller within {rule('autodialer_window_minutes', 'the configured')} minutes; withheld"
        " numbers are never grouped); static or dead air; calls that never reached a queue."
    )
    short_abandon = rule("short_abandon_seconds", "the configured threshold")
    texts = {
        "calls": f"{period} {calls_exclusions} A call is counted when an agent answered it.",
        "chats": f"{period} A chat is counted when a counsellor answered it. Not counted:"
        " test chats, chats flagged as spam by the platform or wrapped up as spam, auto dialer"
        " or static, and chats never answered (reported as abandoned).",
        "emails": f"{period} One email conversation counts once. Not counted: test"
        " conversations, and those flagged as spam or wrapped up as spam or auto dialer.",
        "texts": f"{period} One text conversation counts once. Not counted: test"
        " conversations, those flagged as spam or wrapped up as spam or auto dialer, and"
        " senders on the staff blocklist.",
        "website_sessions": f"Sum of web analytics sessions by date from {start} to {end},"
        f" for the hostnames {rule('web_hostnames', 'listed in the web_hostnames seed')} and rows"
        " without a hostname. The ministry's definition reads like a survey measure; this"
        " figure is the analytics session count, the measure 211 can produce.",
        "phone_satisfaction": "Survey responses about the phone service"
        " (channel phone, telephone, call or voice). Value = 100 x (very satisfied + satisfied)"
        " / (very satisfied + satisfied + not satisfied), rounded half-up to one decimal;"
        " numerator and denominator are in the Basis column. Blank and unrecognised answers"
        " are left out and listed below; with no valid response the value is blank.",
        "chat_satisfaction": "Survey responses about the chat service"
        " (channel chat, webchat, web chat or live chat), computed as for the phone service.",
        "calls_abandoned": f"{period} Calls that reached a queue and were not answered,"
        f" after the same exclusions as # of Calls. Abandons shorter than {short_abandon}"
        " seconds in queue are not counted (0 switches this rule off).",
        "chats_abandoned": f"{period} Chats never answered by a counsellor, after"
        " excluding test and spam chats.",
        "ministry_funded_expenditures": "Sum of the finance"
        f" lines of every month from {start} to {end} whose funding source is ministry-funded"
        " (funding_sources seed), negative lines included, after revisions (the latest upload"
        " containing a month replaces that month), exact to the cent.",
    }
    # The texts are keyed by the catalogue's element_key, so a renamed element keeps its text.
    paragraphs = []
    for row in data.schedule:
        element = element_of_order(row.element_order)
        text = texts.get(element.key if element else "", "")
        paragraphs.append((row.element, text or UNDESCRIBED))
    return paragraphs


def _warning(note: QualityNote) -> QualityWarning:
    section = "Data quality: " + CATEGORY_WORDS.get(note.category, note.category)
    if note.channel:
        section += f" ({note.channel})"
    # The item alone, so a disposition or hostname reads exactly as it arrived.
    subject = note.item or note.channel or note.category
    # The mart's detail says what happened; the explanation is the fallback.
    text = note.detail or CATEGORY_EXPLANATIONS.get(note.category, "")
    return QualityWarning(section, subject, text, note.count, note.amount)


def quality_warnings(data: ReportData) -> list[QualityWarning]:
    if not data.notes:
        return [
            QualityWarning(
                "Data quality", "none", "No data-quality warning for this period.", None, None
            )
        ]
    return [_warning(note) for note in data.notes]
