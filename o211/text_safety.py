"""Text from input files written where a spreadsheet will open it: never live as a formula.

operations.md: uploaded spreadsheets are untrusted. Every CSV the product writes (reports, the
errors list of a rejected file, the portal's audit export) neutralises the same starts.
"""

from __future__ import annotations

# Spreadsheet programs treat a CSV field starting with one of these as a formula (OWASP
# "CSV injection"); tab and carriage return are used to smuggle one past a naive check.
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def inert_csv_text(value: str) -> str:
    """The text with a leading apostrophe when a spreadsheet would otherwise run it.

    Only text goes through here: numbers such as `-1234.56` are written as numbers.
    """
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value
