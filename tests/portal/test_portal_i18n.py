"""English and French (portal.md, "Languages"): every message has its French, pages follow the
user's choice or the browser, numbers, money and dates follow the language."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from o211.paths import REPO_ROOT
from portal.accounts import FINANCE
from portal.i18n import LOCALE_DIR, Language, choose_language
from tests.portal.conftest import csrf_of
from tests.portal.test_portal_finance import ledger, upload

PO_FILE = LOCALE_DIR / "fr" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"\{(\w+)\}|%\((\w+)\)s")


def extracted_messages() -> dict[str | tuple[str, str], str]:
    """Every message id the code marks (the extraction portal/README.md describes) -> file."""
    with (REPO_ROOT / "portal" / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
    found: dict[str | tuple[str, str], str] = {}
    for filename, _line, message, _comments, _context in extract_from_dir(
        str(REPO_ROOT), method_map, options_map, keywords=keywords
    ):
        if message:
            found.setdefault(message, filename)
    return found


def test_every_marked_message_has_a_french_translation_with_the_same_placeholders():
    with PO_FILE.open("rb") as handle:
        catalog = read_po(handle)
    messages = extracted_messages()
    assert len(messages) > 150  # the portal's pages and every ingest problem template
    missing = []
    for message, where in messages.items():
        key = message[0] if isinstance(message, tuple) else message
        entry = catalog.get(key)
        strings = entry.string if entry else ""
        strings = strings if isinstance(strings, tuple) else (strings,)
        if not entry or not all(strings):
            missing.append(f"{where}: {key!r}")
            continue
        for translated in strings:
            assert set(PLACEHOLDER.findall(translated)) == set(PLACEHOLDER.findall(key)), key
    assert not missing, "no French for:\n" + "\n".join(missing)


def test_the_catalogue_is_read_from_the_po_file_itself():
    assert PO_FILE.exists()
    assert not list(LOCALE_DIR.rglob("*.mo"))


def test_money_numbers_and_dates_follow_the_language():
    fr, en = Language("fr"), Language("en")
    assert (
        fr.money(Decimal("1234.56")).replace("\u00a0", " ").replace("\u202f", " ") == "1 234,56 $"
    )
    assert en.money(Decimal("1234.56")) == "$1,234.56"
    assert fr.number(1234567).replace("\u00a0", " ").replace("\u202f", " ") == "1 234 567"
    assert fr.month(date(2025, 4, 1)) == "avril 2025"
    assert en.month(date(2025, 4, 1)) == "April 2025"


def test_language_is_the_users_choice_else_the_browsers_else_english():
    assert choose_language(None, None, "fr-CA,fr;q=0.9,en;q=0.8") == "fr"
    assert choose_language(None, None, "en-CA,en;q=0.9,fr;q=0.8") == "en"
    assert choose_language(None, None, "de-DE,fr;q=0.5") == "fr"
    assert choose_language(None, None, "de-DE") == "en"
    assert choose_language(None, "fr", "en-CA") == "fr"
    assert choose_language("en", "fr", "fr-CA") == "en"


def test_a_french_browser_gets_the_login_page_in_french(portal_env):
    page = portal_env.client().get("/login", headers={"Accept-Language": "fr-CA,fr;q=0.9"})
    assert '<html lang="fr-CA">' in page.text
    assert "Se connecter" in page.text and "Log in" not in page.text


def test_the_finance_page_in_french_after_the_user_switches(portal_env, as_role):
    finance = as_role(FINANCE)
    assert upload(finance, "avril.csv", ledger(("2025-04", "MCCSS", "1234.56"))).status_code == 200
    switched = finance.post(
        "/account/language",
        data={"language": "fr", "back": "/finance", "csrf_token": csrf_of(finance)},
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/finance"
    # Remembered in the account: a new session (another browser, English preferred) is French.
    other = portal_env.login("finance-user")
    page = other.get("/finance", headers={"Accept-Language": "en-CA"}).text
    assert "Téléversements financiers" in page
    assert "avril 2025" in page
    assert re.search(r"1[\u00a0\u202f ]234,56[\u00a0\u202f ]\$", page)
    assert "en attente" in page
    # The refused-file table speaks French too, from ingest's codes and parameters.
    refused = upload(other, "mauvais.csv", ledger(("2025-04", "Loterie", "1.00"))).text
    assert "n’est pas une source de financement connue" in refused
    assert "Loterie" in refused
    assert "is not a known funding source" not in refused
