"""Problem codes: every code ingest uses has an English template, every template is extractable
for translation, params fill exactly the placeholders, and the English reads as it always did."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract

from ingest import messages
from ingest.messages import MESSAGES
from ingest.pipeline import check_file
from ingest.problems import Problem
from o211.paths import REPO_ROOT
from tests.corpus.hostile_files import hostile_files, write_hostile

INGEST = REPO_ROOT / "ingest"
CODE_RE = re.compile(r"[a-z0-9_]+\.[a-z0-9_]+")
PREFIXES = {code.split(".")[0] for code in MESSAGES}


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def code_literals() -> dict[str, Path]:
    """Every string literal in ingest's modules shaped like a code of a known family."""
    found: dict[str, Path] = {}
    for path in sorted(INGEST.glob("*.py")):
        if path.name == "messages.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if CODE_RE.fullmatch(text) and text.split(".")[0] in PREFIXES:
                    found[text] = path
    return found


def test_every_code_used_in_ingest_has_a_template():
    used = code_literals()
    assert len(used) >= 30, used  # the scan really sees the codes
    missing = {code: path.name for code, path in used.items() if code not in MESSAGES}
    assert missing == {}


def test_every_template_is_used():
    used = set(code_literals())
    # A wrong-format code gets its `_no_extension` twin by name (reading.py).
    used |= {f"{code}_no_extension" for code in used}
    assert sorted(set(MESSAGES) - used) == []


def test_every_template_is_extracted_for_translation_with_the_N__keyword():
    with (INGEST / "messages.py").open("rb") as handle:
        extracted = {message for _line, message, _comments, _context in
                     extract("python", handle, keywords={"N_": None})}  # fmt: skip
    templates = {template for pair in MESSAGES.values() for template in pair}
    assert templates <= extracted
    assert messages.N_("unchanged") == "unchanged"


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_templates_are_plain_sentences_with_named_placeholders(code):
    problem, fix = MESSAGES[code]
    for template in (problem, fix):
        assert template == template.strip() and template, code
        assert "{}" not in template and not re.search(r"\{\d", template), code


def corpus_problems(tmp_path: Path) -> list[Problem]:
    problems: list[Problem] = []
    for spec in hostile_files():
        path = write_hostile(spec, tmp_path / spec.kind)
        problems += check_file(path, spec.kind).problems
    return problems


def test_corpus_problems_carry_a_code_and_exactly_their_placeholders(tmp_path):
    problems = corpus_problems(tmp_path)
    codes = {p.code for p in problems}
    assert len(codes) >= 20, codes  # a real spread of problems, not a handful
    for p in problems:
        problem, fix = MESSAGES[p.code]
        assert set(p.params) == placeholders(problem) | placeholders(fix), (p.code, p.params)
        assert all(isinstance(v, str) for v in p.params.values())
        assert (p.problem, p.fix) == messages.render(p.code, p.params)


MONEY_FIX = (
    "write amounts like 1234.56, 1,234.56, $1,234.56, -1234.56 or (1,234.56), rounded to the cent"
)
SAVE_AS_CSV_UTF8 = "open it in Excel and use File > Save As > 'CSV UTF-8 (Comma delimited)'"
SAVE_AS_XLSX_NO_PASSWORD = (
    "open it in Excel and save it again as 'Excel Workbook (.xlsx)' without a password"
)

# The English as ingest wrote it before problems had codes (copied from that version's code):
# rendering a code must give these strings byte for byte.
TODAY = [
    (
        "header.missing_column",
        {"row": "3", "missing": "'amount'", "found": "'period', 'account'"},
        "the header row (row 3) has no column named 'amount' (found: 'period', 'account')",
        "add the missing column(s) with exactly these names in the header row; "
        "the order of columns does not matter",
    ),
    (
        "amount.too_many_decimals",
        {},
        "has more than 4 decimal places (an unrounded formula result?)",
        MONEY_FIX,
    ),
    ("amount.two_minus_signs", {}, "not a valid amount (two minus signs)", MONEY_FIX),
    (
        "date.outside_range",
        {"day": "0001-04-01", "first": "2000-01-01", "last": "2099-12-31"},
        "date 0001-04-01 is outside the accepted range 2000-01-01..2099-12-31",
        "check the export's date column",
    ),
    (
        "text.too_long",
        {"max_chars": "1,000"},
        "is longer than 1,000 characters",
        "this column holds short codes; check for a missing closing quote mark or text pasted "
        "into the wrong cell, and export again",
    ),
    (
        "timestamp.invalid",
        {},
        "is not a date and time in ISO 8601 form",
        "write it like 2025-04-01T09:30:00 (Toronto local time), 2025-04-01T09:30:00-04:00 "
        "or 2025-04-01T13:30:00Z",
    ),
    (
        "funding_source.unknown",
        {"sources": "MCCSS, Other"},
        "is not a known funding source",
        "use one of: MCCSS, Other (trimmed, any case)",
    ),
    (
        "csv.binary",
        {},
        "the file holds binary (non-text) content, it is not a CSV text file",
        "export the data again as CSV; " + SAVE_AS_CSV_UTF8,
    ),
    (
        "csv.other_delimiter",
        {"delimiter": "';'"},
        "the file seems to use ';' between columns; save it as comma-separated",
        SAVE_AS_CSV_UTF8,
    ),
    (
        "csv.tab_delimited",
        {},
        "the file seems to use tabs between columns; save it as comma-separated",
        SAVE_AS_CSV_UTF8,
    ),
    (
        "csv.row_width",
        {"cells": "11", "expected": "10"},
        "the row has 11 cells but the header has 10",
        "a value probably contains a comma without quote marks around it; "
        "export the file again from the source system",
    ),
    (
        "file.not_csv_or_xlsx_no_extension",
        {"kind": "finance"},
        "a finance extract must be a .csv or .xlsx file, not a file without extension",
        "export or save the data as .xlsx or CSV",
    ),
    (
        "file.not_csv",
        {"kind": "calls", "suffix": ".txt"},
        "a calls extract must be a .csv file, not .txt",
        "export or save the data as CSV UTF-8",
    ),
    (
        "workbook.compression_ratio",
        {"ratio": "1,024", "packed_mb": "0.1", "unpacked_mb": "100", "limit": "200"},
        "the workbook's compression ratio is 1,024 to 1 (it would unpack from 0.1 MB to 100 MB), "
        "more than the 200 to 1 a real workbook has (a decompression bomb or a damaged file)",
        SAVE_AS_XLSX_NO_PASSWORD,
    ),
    (
        "workbook.damaged_part",
        {"error": "Bad CRC-32"},
        "the file is not a valid .xlsx workbook (Bad CRC-32)",
        "open it in Excel and save it again as 'Excel Workbook (.xlsx)'",
    ),
    (
        "file.unexpected_error",
        {"error_type": "NotImplementedError", "error": "a library refused a value"},
        "ingest stopped on this file with an unexpected error (NotImplementedError: a library "
        "refused a value); nothing of it was loaded",
        "send the file and this message to the data team",
    ),
]


@pytest.mark.parametrize(("code", "params", "problem", "fix"), TODAY, ids=[t[0] for t in TODAY])
def test_rendering_gives_the_english_of_before(code, params, problem, fix):
    rendered = Problem(7, "amount", "x", code, params)
    assert (rendered.problem, rendered.fix) == (problem, fix)


def test_an_unknown_code_fails_when_the_problem_is_made():
    with pytest.raises(KeyError):
        Problem(None, None, None, "no.such_code")


def test_a_brace_in_a_parameter_is_quoted_as_is():
    rendered = Problem(None, None, None, "csv.unreadable", {"error": "bad {token} at 3"})
    assert rendered.problem == "the file cannot be read as CSV (bad {token} at 3)"
