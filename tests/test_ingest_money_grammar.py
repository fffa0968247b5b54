"""The finance amount grammar (extracts.md, finance `amount`; issue 14 item 1).

The product reads money text with one regular grammar (`parsing.money_from_text`). Here an
independent reference, written by hand from extracts.md's wording without regular expressions,
judges generated valid forms, arbitrary strings and mutations of valid forms, and the two must
agree on every one; explicit examples pin each rule. A number cell reaches the same function as
the text `cell_text` makes of it, at Excel's 15 significant digits.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ingest import parsing
from ingest.finance_summary import check_finance_file
from ingest.pipeline import check_file
from ingest.readers import cell_text

ASCII_DIGITS = frozenset("0123456789")
GROUPING_MARKS = (",",)
LIMIT = Decimal(10) ** 14  # decimal(18, 4): 14 digits before the point
MAX_DECIMALS = 4


def reference_amount(text: str) -> Decimal | None:
    """extracts.md's amount, read from its wording: "a number cell, or text such as `1234.56`,
    `1,234.56`, `$1,234.56`, `-1234.56`, `(1,234.56)` ... More than 4 decimal places rejects
    the row", with the issue's precision: at most one sign or one pair of parentheses, at most
    one `$` in its place (before the digits), digits with correct thousands grouping or none;
    the grouping mark is the comma, the only one extracts.md shows."""
    negative = False
    if len(text) >= 2 and text[0] == "(" and text[-1] == ")":
        negative, text = True, text[1:-1]
    elif text[:1] == "-":
        negative, text = True, text[1:]
    if text[:1] == "$":
        text = text[1:]
    whole, point, decimals = text.partition(".")
    if point and not (decimals and set(decimals) <= ASCII_DIGITS):
        return None
    if len(decimals) > MAX_DECIMALS:
        return None
    marks = [mark for mark in GROUPING_MARKS if mark in whole]
    if len(marks) > 1:
        return None
    groups = whole.split(marks[0]) if marks else [whole]
    if not all(group and set(group) <= ASCII_DIGITS for group in groups):
        return None
    if len(groups) > 1:
        first, rest = groups[0], groups[1:]
        if not (len(first) <= 3 and first[0] != "0" and all(len(g) == 3 for g in rest)):
            return None
    value = Decimal("".join(groups) + (f".{decimals}" if point else ""))
    if value >= LIMIT:
        return None
    return -value if negative else value


def product_amount(text: str) -> Decimal | None:
    parsed = parsing.money_from_text(text)
    return parsed if isinstance(parsed, Decimal) else None


# --- generated valid forms ----------------------------------------------------------------------


@st.composite
def valid_amounts(draw: st.DrawFn) -> tuple[str, Decimal]:
    whole = draw(st.integers(min_value=0, max_value=10**14 - 1))
    decimals = draw(st.text(alphabet="0123456789", max_size=MAX_DECIMALS))
    mark = draw(st.sampled_from(("", *GROUPING_MARKS)))
    digits = f"{whole:,}".replace(",", mark) if mark else str(whole)
    number = digits + (f".{decimals}" if decimals else "")
    if draw(st.booleans()):
        number = "$" + number
    sign = draw(st.sampled_from(["", "-", "()"]))
    text = f"({number})" if sign == "()" else sign + number
    value = Decimal(f"{whole}.{decimals}" if decimals else str(whole))
    return text, -value if sign else value


@settings(max_examples=300, deadline=None)
@given(valid_amounts())
def test_every_valid_form_reads_as_its_exact_value(form):
    text, value = form
    assert reference_amount(text) == value
    assert product_amount(text) == value


# --- arbitrary and mutated strings: the product accepts exactly what the reference accepts -------

HOSTILE = "0123456789,.$()-+ \u00a0eE١５'"


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=HOSTILE, max_size=14))
@example("$$5")
@example("1 234.56")
@example("$-5")
@example("0,123.00")
@example(".5")
@example("１２３")
@example("-$$5")
@example("($$1,234.56)")
def test_arbitrary_text_is_accepted_exactly_when_the_reference_accepts_it(text):
    assert product_amount(text) == reference_amount(text)


@settings(max_examples=400, deadline=None)
@given(valid_amounts(), st.data())
def test_a_mutated_valid_form_is_judged_as_the_reference_judges_it(form, data):
    text, _value = form
    position = data.draw(st.integers(min_value=0, max_value=len(text)))
    how = data.draw(st.sampled_from(["insert", "delete", "double"]))
    if how == "insert":
        mutated = text[:position] + data.draw(st.sampled_from(HOSTILE)) + text[position:]
    elif how == "delete":
        mutated = text[:position] + text[position + 1 :]
    else:
        mutated = text[:position] + text[position : position + 1] * 2 + text[position + 1 :]
    assert product_amount(mutated) == reference_amount(mutated)


# --- number cells: Excel's 15 significant digits --------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=-1e15, max_value=1e15, allow_nan=False, allow_infinity=False))
@example(0.1 + 0.2)
@example(1234.5600000000002)
@example(1e-05)
@example(99999999999999.99)
def test_a_number_cell_is_read_at_15_significant_digits(number):
    excel = Decimal(format(number, ".15g"))
    exponent = excel.normalize().as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    expected = excel if decimals <= MAX_DECIMALS and abs(excel) < LIMIT else None
    assert product_amount(cell_text(number)) == expected


# --- each rule, by example ------------------------------------------------------------------------

ACCEPTED = [
    ("1234.56", "1234.56"),
    ("1,234.56", "1234.56"),
    ("$1,234.56", "1234.56"),
    ("-1234.56", "-1234.56"),
    ("(1,234.56)", "-1234.56"),
    ("($1,234.56)", "-1234.56"),
    ("-$1,234.56", "-1234.56"),
    ("1,234,567.1234", "1234567.1234"),
    ("0.5", "0.5"),
    ("0", "0"),
    ("99999999999999.9999", "99999999999999.9999"),
]
REFUSED = [
    ("--5", "amount.two_minus_signs"),  # two signs
    ("(-5)", "amount.two_minus_signs"),  # a sign inside parentheses
    ("-(5)", "amount.invalid"),
    ("$$5", "amount.invalid"),  # two dollar signs
    ("-$$5", "amount.invalid"),
    ("$-5", "amount.invalid"),  # the $ out of its place
    ("$(5)", "amount.invalid"),
    ("5$", "amount.invalid"),
    ("+5", "amount.invalid"),  # extracts.md shows only the minus sign
    ("(5", "amount.invalid"),  # unbalanced parentheses
    ("1 000", "amount.invalid"),  # a space is no thousands mark in extracts.md
    ("1\u00a0234.56", "amount.invalid"),
    ("(12 345 678.9)", "amount.invalid"),
    ("1 2 3", "amount.invalid"),
    ("12 34", "amount.invalid"),
    ("1  234", "amount.invalid"),
    ("1 234,567", "amount.invalid"),  # two grouping marks
    ("1 234\u00a0567", "amount.invalid"),
    ("- 5", "amount.invalid"),
    ("$ 5", "amount.invalid"),
    ("1,23.00", "amount.invalid"),  # wrong grouping
    ("1234,567", "amount.invalid"),
    ("0,123", "amount.invalid"),
    ("1,234,56", "amount.invalid"),
    ("1.234,56", "amount.invalid"),  # decimal comma
    (".5", "amount.invalid"),  # digits before the point
    ("5.", "amount.invalid"),
    ("１２３", "amount.invalid"),  # full-width digits
    ("١٢٣", "amount.invalid"),  # Arabic-Indic digits
    ("1e5", "amount.invalid"),
    ("12.34567", "amount.too_many_decimals"),
    ("1,234.56789", "amount.too_many_decimals"),
    ("100000000000000", "amount.too_large"),
    ("(100,000,000,000,000.00)", "amount.too_large"),
]


@pytest.mark.parametrize(("text", "value"), ACCEPTED)
def test_accepted_examples(text, value):
    assert parsing.money_from_text(text) == Decimal(value)
    assert reference_amount(text) == Decimal(value)


@pytest.mark.parametrize(("text", "code"), REFUSED)
def test_refused_examples_name_their_reason(text, code):
    assert parsing.money_from_text(text) == code
    assert reference_amount(text) is None


# --- one grammar for ingest, `o211 check` and the portal ------------------------------------------

MALFORMED = ["$$5.00", "1 2 3", "$-5.00", "0,123.00", "１２３"]


def finance_csv(tmp_path: Path, amounts: list[str]) -> Path:
    lines = ["period,account,description,funding_source,amount"]
    lines += [f'2025-04,5010,Salaries,MCCSS,"{amount}"' for amount in ["1,234.56", *amounts]]
    path = tmp_path / "finance.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_check_file_and_the_portal_check_refuse_each_malformed_amount_on_its_row(tmp_path):
    path = finance_csv(tmp_path, MALFORMED)
    result = check_file(path, "finance")  # what ingest and `o211 check` run
    assert [(p.row, p.column, p.value) for p in result.problems] == [
        (row, "amount", amount) for row, amount in enumerate(MALFORMED, start=3)
    ]
    assert {p.code for p in result.problems} == {"amount.invalid"}
    portal = check_finance_file(path)  # what the portal's upload page runs
    assert not portal.ok and portal.summary is None
    assert portal.result.problems == result.problems


def test_the_valid_forms_of_extracts_md_load_through_check_file(tmp_path):
    path = finance_csv(tmp_path, [text for text, _ in ACCEPTED[:7]])
    assert check_file(path, "finance").problems == []
