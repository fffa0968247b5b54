"""Is a workbook safe to open? Size, decompression and XML-entity checks on the zip directory and
the start of each part, before openpyxl unpacks anything (operations.md, "Privacy and security").
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

from ingest.file_scan import OLE_MAGIC, ZIP_MAGIC, ByteScan, plain_error, whole_file

# Finance uploads are small; anything bigger is a mistake or an attack.
MAX_WORKBOOK_BYTES = 20 * 1024 * 1024
MAX_WORKBOOK_UNCOMPRESSED = 200 * 1024 * 1024
MAX_WORKBOOK_RATIO = 200
MB = 1024 * 1024
# How much of each XML part is searched for DOCTYPE / ENTITY declarations (they come first).
DECLARATION_SCAN_BYTES = 64 * 1024


def check_workbook_container(path: Path, scan: ByteScan) -> None:
    """Size and decompression limits, checked on the zip directory before anything unpacks."""
    if scan.head.startswith(OLE_MAGIC):
        raise whole_file("workbook.encrypted_or_xls")
    if scan.size > MAX_WORKBOOK_BYTES:
        raise whole_file(
            "workbook.too_large",
            size_mb=f"{scan.size / 1e6:.1f}",
            limit_mb=f"{MAX_WORKBOOK_BYTES / 1e6:.0f}",
        )
    if not scan.head.startswith(ZIP_MAGIC):
        raise whole_file("workbook.not_xlsx")
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise whole_file("workbook.bad_zip", error=plain_error(error)) from error
    unpacked = sum(entry.file_size for entry in entries)
    packed = max(1, sum(entry.compress_size for entry in entries))
    # Two checks, and the message names the one that fired: a bomb can stay under the size
    # limit and still be caught by its compression ratio.
    if unpacked > MAX_WORKBOOK_UNCOMPRESSED:
        raise whole_file(
            "workbook.unpacks_too_large",
            unpacked_mb=f"{unpacked / MB:,.0f}",
            limit_mb=f"{MAX_WORKBOOK_UNCOMPRESSED / MB:,.0f}",
        )
    if unpacked / packed > MAX_WORKBOOK_RATIO:
        raise whole_file(
            "workbook.compression_ratio",
            ratio=f"{unpacked / packed:,.0f}",
            packed_mb=f"{packed / MB:,.1f}",
            unpacked_mb=f"{unpacked / MB:,.0f}",
            limit=str(MAX_WORKBOOK_RATIO),
        )
    _refuse_entity_declarations(path, entries)


def _refuse_entity_declarations(path: Path, entries: Sequence[zipfile.ZipInfo]) -> None:
    """Refuse any XML part with a DOCTYPE or ENTITY declaration (entity bombs, external entities).

    Excel never writes them. A declaration must come before the root element, so the start of
    each part is enough.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            for entry in entries:
                if not entry.filename.lower().endswith((".xml", ".rels", ".vml")):
                    continue
                with archive.open(entry) as part:
                    start = part.read(DECLARATION_SCAN_BYTES).upper()
                if b"<!DOCTYPE" in start or b"<!ENTITY" in start:
                    raise whole_file("workbook.xml_entities")
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
        raise whole_file("workbook.damaged_part", error=plain_error(error)) from error
