"""English and French: message catalogues, the language of a request, and Babel formatting.

The English text is the message id; `locale/fr/LC_MESSAGES/messages.po` holds the French. The
`.po` is read at start-up (no compiled `.mo` is committed). Numbers, money and dates are
formatted by Babel for the language (fr-CA money: `1 234,56 $`). The ministry's element names
are never translated.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations

from o211.calendar import TORONTO


def N_(message: str) -> str:
    """Mark an English message for extraction; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Message:
    """An English template with its parameters, e.g. `Message("{name} exists", {"name": n})`:
    translated first, then filled, so the French catalogue holds one entry per sentence."""

    template: str
    params: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.template.format(**self.params)


LANGUAGES: tuple[str, ...] = ("en", "fr")
DEFAULT_LANGUAGE = "en"
# The locales whose conventions the pages follow (Canada, in both official languages).
BABEL_LOCALES: Mapping[str, str] = {"en": "en_CA", "fr": "fr_CA"}
LANGUAGE_NAMES: Mapping[str, str] = {"en": "English", "fr": "Français"}
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"


@cache
def translations(language: str) -> NullTranslations:
    """The catalogue of a language, compiled in memory from its `.po` (English: identity)."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == DEFAULT_LANGUAGE or not po.exists():
        return NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def choose_language(
    account_language: str | None, cookie_language: str | None, accept_language: str | None
) -> str:
    """The user's remembered choice, else the browser's preference, else English."""
    for choice in (account_language, cookie_language):
        if choice in LANGUAGES:
            return choice
    if accept_language:
        preferred = []
        for part in accept_language.split(","):
            tag, _, params = part.strip().partition(";")
            quality = 1.0
            if params.strip().startswith("q="):
                try:
                    quality = float(params.strip()[2:])
                except ValueError:
                    quality = 0.0
            if tag and quality > 0:
                preferred.append((quality, tag.strip().replace("-", "_")))
        ordered = [tag for _, tag in sorted(preferred, key=lambda p: -p[0])]
        found = negotiate_locale(ordered, list(LANGUAGES))
        if found is None:
            found = negotiate_locale([t.split("_")[0] for t in ordered], list(LANGUAGES))
        if found in LANGUAGES:
            return found
    return DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Language:
    """Everything a page needs to speak one language."""

    code: str

    @property
    def locale(self) -> Locale:
        return Locale.parse(BABEL_LOCALES[self.code])

    def gettext(self, message: str) -> str:
        return translations(self.code).gettext(message)

    def text(self, message: str | Message) -> str:
        """A message for the page: a plain English message id, or a template with params."""
        if isinstance(message, Message):
            return self.gettext(message.template).format(**message.params)
        return self.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return translations(self.code).ngettext(singular, plural, count)

    def number(self, value: int | Decimal) -> str:
        return format_decimal(value, locale=self.locale)

    def money(self, value: Decimal) -> str:
        return format_currency(value, "CAD", locale=self.locale)

    def day(self, value: date) -> str:
        return format_date(value, "long", locale=self.locale)

    def month(self, value: date) -> str:
        """`April 2025` / `avril 2025`."""
        return format_date(value, "LLLL yyyy", locale=self.locale)

    def moment(self, value: datetime | str) -> str:
        """An instant as Toronto wall time, with its zone."""
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        local = value.astimezone(TORONTO)
        return (
            f"{format_date(local, 'medium', locale=self.locale)}, "
            # The zone's abbreviation in the reader's language: EST/EDT, HNE/HAE in French.
            f"{format_time(local, 'short', locale=self.locale)} "
            f"{format_time(local, 'z', locale=self.locale)}"
        )
