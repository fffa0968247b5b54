"""The base package reads the dbt project's facts from their one home, not from copies."""

from __future__ import annotations

import re

from o211.dbt_config import DBT_PROJECT_YML, var_defaults
from o211.paths import DBT_PROJECT_DIR
from o211.text_safety import inert_csv_text


def test_var_defaults_are_the_dbt_projects_vars_as_text():
    defaults = var_defaults()
    # rules.md's defaults, as the dbt project states them.
    assert defaults["autodialer_min_calls"] == "5"
    assert defaults["autodialer_window_minutes"] == "60"
    assert defaults["short_abandon_seconds"] == "0"
    assert defaults["test_queue_pattern"] == "TEST"
    # Every var the rules fingerprint covers has a default here.
    macro = (DBT_PROJECT_DIR / "macros" / "rules_vars.sql").read_text(encoding="utf-8")
    listed = re.search(r"rules_var_names\(\).*?\[(.*?)\]", macro, re.S)
    assert listed is not None
    names = set(re.findall(r"'(\w+)'", listed.group(1)))
    assert names and names <= set(defaults), names - set(defaults)
    assert DBT_PROJECT_YML.is_file()


def test_inert_csv_text_neutralises_every_formula_start_and_nothing_else():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert inert_csv_text(f"{start}HYPERLINK(1)") == f"'{start}HYPERLINK(1)"
    assert inert_csv_text("Voicemail") == "Voicemail"
    assert inert_csv_text("") == ""


def test_the_element_catalogue_is_the_seed_in_schedule_order():
    from o211.elements import contact_elements, element_catalogue, element_counting

    catalogue = element_catalogue()
    assert [e.order for e in catalogue] == list(range(1, 11))
    assert len({e.key for e in catalogue}) == len({e.name for e in catalogue}) == 10
    # mission.md's wording of the elements that count contacts, in schedule order.
    assert [e.name for e in contact_elements()] == [
        "# of Calls",
        "# of Chats",
        "# of Emails",
        "# of Texts",
    ]
    abandoned = element_counting("calls", "abandoned")
    assert abandoned is not None and abandoned.name == "# of Calls Abandoned"
    assert element_counting("emails", "abandoned") is None
    assert element_counting("calls", "spam") is None
    satisfaction = {e.survey_channel: e.unit for e in catalogue if e.survey_channel}
    assert satisfaction == {"phone": "percent", "chat": "percent"}
    assert {e.source_kind for e in catalogue} == {
        "calls", "chats", "emails", "texts", "surveys", "web", "finance"
    }  # fmt: skip
