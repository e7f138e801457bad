"""Cutting a CSV file into byte ranges at line ends, so that worker processes can
each read and parse their own part instead of receiving parsed lines by pickle.

Line numbers stay exact: the ranges are numbered by counting ``\\n`` in each one
here (a C-speed count over the file), so a worker knows the number of its first
line. A cut is only safe where a line end is also a record end; what this module
can see cheaply it checks (a bare ``\\r`` ends a line for Python's csv reading but
not for the ``\\n`` count, a quote in the header), the rest — a quoted field with a
newline in it — only the csv parser sees, so each worker checks that its records
are one line each and did not end inside quotes (see ``subscriber_scan``); if any
did, the caller reads the file in one piece instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RANGE_BYTES = 2 * 1024 * 1024  # ~11,000 rows of a billing export a range


@dataclass(frozen=True)
class ByteRange:
    start: int  # offset of the range's first byte
    size: int
    first_line: int  # its first line's number in the file (the header is line 1)


@dataclass(frozen=True)
class SplitFile:
    header: str  # the first line, decoded, without BOM and line end
    ranges: tuple[ByteRange, ...]


def split_lines(path: Path | str, range_bytes: int | None = None) -> SplitFile | None:
    """The header and the ranges after it, or None when cutting at ``\\n`` might not
    match how the csv module reads the file (then read it in one piece)."""
    range_bytes = range_bytes or RANGE_BYTES
    with open(path, "rb") as handle:
        raw_header = handle.readline()
        if not raw_header.endswith(b"\n") or b'"' in raw_header or b"\r" in raw_header[:-2]:
            return None  # one line only, or a header the csv module may read otherwise
        try:
            header = raw_header.decode("utf-8-sig").rstrip("\r\n")
        except UnicodeDecodeError:
            return None  # the one-piece reading reports it, as it always did
        ranges: list[ByteRange] = []
        start, line = len(raw_header), 2
        while block := handle.read(range_bytes):
            if not block.endswith(b"\n"):
                block += handle.readline()  # up to the end of the line (or of the file)
            if block.count(b"\r") != block.count(b"\r\n"):
                return None  # a bare \r ends a line for the csv reader: numbering differs
            ranges.append(ByteRange(start, len(block), line))
            start += len(block)
            line += block.count(b"\n")
    return SplitFile(header, tuple(ranges))


def read_range(path: Path | str, byte_range: ByteRange) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(byte_range.start)
        return handle.read(byte_range.size)
