"""A file's bytes before any reading: its fingerprint, what kind of content it holds, and the
whole-file refusal every reader raises (with messages that never quote server paths).
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ingest.problems import Problem

READ_BLOCK = 1 << 20
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"


class FileRejected(Exception):
    """The file as a whole cannot be read; the problems say why."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__("; ".join(p.problem for p in problems))
        self.problems = list(problems)


_ABSOLUTE_PATH_RE = re.compile(r"(?:[A-Za-z]:)?(?:[/\\][^/\\\s'\"]+)+[/\\]([^/\\\s'\"]+)")


def plain_error(error: BaseException, limit: int = 200) -> str:
    """An exception's message for an uploader: first line, no server paths, bounded length.

    Library messages quote the absolute path of the file on the server; only its name stays.
    """
    lines = str(error).strip().splitlines()
    text = _ABSOLUTE_PATH_RE.sub(r"\1", lines[0] if lines else "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def whole_file(code: str, **params: str) -> FileRejected:
    """The refusal of a whole file, for the `ingest.messages` sentence `code`."""
    return FileRejected(Problem(None, None, None, code, params))


@dataclass(frozen=True)
class ByteScan:
    """One pass over the bytes: fingerprint and what kind of content it is."""

    sha256: str
    size: int
    head: bytes
    utf8: bool
    has_nul: bool
    first_bad_byte_line: int | None


def scan_bytes(path: Path) -> ByteScan:
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, has_nul, head, size, lines = True, False, b"", 0, 1
    bad_line: int | None = None
    with path.open("rb") as handle:
        while block := handle.read(READ_BLOCK):
            if not head:
                head = block[:8]
            size += len(block)
            digest.update(block)
            has_nul = has_nul or b"\x00" in block
            if utf8:
                try:
                    decoder.decode(block)
                    lines += block.count(b"\n")
                except UnicodeDecodeError as error:
                    utf8 = False
                    bad_line = lines + block[: error.start].count(b"\n")
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8, bad_line = False, lines
    return ByteScan(digest.hexdigest(), size, head, utf8, has_nul, bad_line)
