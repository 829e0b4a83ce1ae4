"""Streaming readers for import files: JSON (array or object), JSONL and CSV.

A file is never loaded whole: bytes are read in chunks, decoded incrementally as UTF-8 and
tokenised with `json.JSONDecoder.raw_decode` on a sliding buffer (JSON), line by line (JSONL)
or by the `csv` module (CSV). Readers yield `Row(index, value, error)`: `index` is the 0-based
position of the record in the file (array element, object member, JSONL line, CSV data row
after the header) and either `value` or `error` (a reason for that row alone) is set.

A file that is not what it claims (invalid JSON, wrong top-level shape, not UTF-8, a CSV
without its id column) raises `ImportFileError` with one clear reason.
"""

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from metadata_site.lib.csvescape import unescape_cell
from metadata_site.lib.errors import MessageError

CHUNK_CHARS = 1 << 20

FILE_NOT_UTF8 = "The file is not valid UTF-8 (at byte {offset}); save it as UTF-8 and upload it again."
FILE_UTF16 = "The file is UTF-16 encoded; save it as UTF-8 and upload it again."
FILE_EMPTY = "The file is empty."
FILE_INVALID_JSON = "Invalid JSON at line {line}, column {column}: {message}."
FILE_TRAILING_DATA = "Invalid JSON at line {line}, column {column}: unexpected data after the top-level value."
FILE_TOP_LEVEL = "The file's top level must be {expected}, not {found}."
FILE_UNKNOWN_SECTION = "Unknown top-level key {key!r}: expected {expected}."
FILE_SECTION_NOT_ARRAY = "The top-level key {key!r} must hold an array, not {found}."
FILE_UNKNOWN_FORMAT = "Unknown file format {name!r}: use .json, .jsonl or .csv."
CSV_INVALID = "Invalid CSV at line {line}: {message}."
CSV_NO_HEADER = "The CSV file has no header row."
CSV_DUPLICATE_COLUMN = "The CSV header repeats the column {column!r}."
ROW_INVALID_JSON = "Invalid JSON: {message}"
ROW_COLUMN_COUNT = "Expected {expected} columns, found {found}"
VALUE_UNREADABLE = "a value nested too deeply or a number too long to read"

FORMATS = ("json", "jsonl", "csv")


class ImportFileError(MessageError):
    """The file as a whole cannot be read; nothing is imported. `message` (also `reason`) says why."""

    @property
    def reason(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Row:
    index: int
    value: Any = None
    error: str | None = None


def format_for(name: str, explicit: str | None = None) -> str:
    """The format of a file from an explicit choice or its extension."""
    if explicit:
        if explicit not in FORMATS:
            raise ImportFileError(FILE_UNKNOWN_FORMAT.format(name=explicit))
        return explicit
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix == "ndjson":
        return "jsonl"
    if suffix not in FORMATS:
        raise ImportFileError(FILE_UNKNOWN_FORMAT.format(name=name))
    return suffix


def json_type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


class TextStream:
    """Decodes a binary stream as UTF-8 in chunks, tracking the bytes consumed (for progress)."""

    def __init__(self, raw: IO[bytes], *, chunk_chars: int = CHUNK_CHARS):
        self.raw = raw
        self.chunk_bytes = chunk_chars
        self.bytes_read = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._first = True
        self.eof = False

    def read(self) -> str:
        """The next chunk of text ('' at the end of the file)."""
        while not self.eof:
            data = self.raw.read(self.chunk_bytes)
            if self._first:
                self._first = False
                if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                    raise ImportFileError(FILE_UTF16)
                if data.startswith(codecs.BOM_UTF8):
                    data = data[len(codecs.BOM_UTF8):]
                    self.bytes_read += len(codecs.BOM_UTF8)
            final = not data
            try:
                text = self._decoder.decode(data, final=final)
            except UnicodeDecodeError as exc:
                raise ImportFileError(FILE_NOT_UTF8.format(offset=self.bytes_read + exc.start)) from None
            self.bytes_read += len(data)
            if final:
                self.eof = True
            if text:
                return text
        return ""


class _JsonTokenizer:
    """A sliding-buffer reader over one JSON document: the buffer holds at most about one chunk
    plus the value being decoded."""

    _ws = frozenset(" \t\r\n")

    def __init__(self, text: TextStream):
        self.text = text
        self.buf = ""
        self.pos = 0
        self.lines_before = 0  # newlines in text already dropped from the buffer
        self.line_start_before = 0  # chars since the last dropped newline, for columns
        self.decoder = json.JSONDecoder()

    def _fill(self) -> bool:
        chunk = self.text.read()
        if not chunk:
            return False
        if self.pos:
            dropped = self.buf[: self.pos]
            newlines = dropped.count("\n")
            if newlines:
                self.lines_before += newlines
                self.line_start_before = len(dropped) - dropped.rfind("\n") - 1
            else:
                self.line_start_before += len(dropped)
            self.buf = self.buf[self.pos:]
            self.pos = 0
        self.buf += chunk
        return True

    def where(self, pos: int | None = None) -> tuple[int, int]:
        pos = self.pos if pos is None else pos
        before = self.buf[:pos]
        newlines = before.count("\n")
        if newlines:
            return self.lines_before + newlines + 1, pos - before.rfind("\n")
        return self.lines_before + 1, self.line_start_before + pos + 1

    def fail(self, message: str, pos: int | None = None) -> ImportFileError:
        line, column = self.where(pos)
        return ImportFileError(FILE_INVALID_JSON.format(line=line, column=column, message=message))

    def peek(self) -> str:
        """The next non-whitespace character ('' at the end), without consuming it."""
        while True:
            buf, pos, n = self.buf, self.pos, len(self.buf)
            while pos < n and buf[pos] in self._ws:
                pos += 1
            self.pos = pos
            if pos < n:
                return buf[pos]
            if not self._fill():
                return ""

    def expect(self, chars: str, what: str) -> str:
        char = self.peek()
        if char == "" or char not in chars:
            found = "the end of the file" if char == "" else repr(char)
            raise self.fail(f"expected {what}, found {found}")
        self.pos += 1
        return char

    def value(self) -> Any:
        if self.peek() == "":
            raise self.fail("expected a value, found the end of the file")
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if not self.text.eof and self._fill():
                    continue
                raise self.fail(exc.msg, exc.pos) from None
            except (RecursionError, ValueError):
                raise self.fail(VALUE_UNREADABLE) from None
            # A number at the very end of the buffer may continue in the next chunk.
            if end == len(self.buf) and not self.text.eof and self._fill():
                continue
            self.pos = end
            return value


def _iter_json(*, allow: tuple[str, ...], text: TextStream, sections: tuple[str, ...] = ()) -> Iterator[Row]:
    """Rows of a JSON document whose top level is one of `allow` ("array", "object", "sections").

    "object" yields `(key, value)` per member; "sections" is an object of arrays (`sections` names
    the allowed keys) streamed element by element as `(section, element, position_in_section)`,
    with one running row index across sections.
    """
    tok = _JsonTokenizer(text)
    first = tok.peek()
    if first == "":
        raise ImportFileError(FILE_EMPTY)
    shape = {"[": "array", "{": "object"}.get(first)
    if shape == "object" and "sections" in allow:
        shape = "sections"
    if shape not in allow:
        found = json_type_name(tok.value()) if shape is None else f"an {shape}"
        names = {"array": "an array", "object": "an object", "sections": "an object"}
        raise ImportFileError(FILE_TOP_LEVEL.format(expected=" or ".join(names[a] for a in allow), found=found))
    index = 0
    if shape == "array":
        for element in _elements(tok, "[", "]"):
            yield Row(index, element)
            index += 1
    else:
        for key in _members(tok):
            if shape == "object":
                yield Row(index, (key, tok.value()))
                index += 1
                continue
            if key not in sections:
                raise ImportFileError(
                    FILE_UNKNOWN_SECTION.format(key=key, expected=", ".join(repr(s) for s in sections))
                )
            if tok.peek() != "[":
                raise ImportFileError(FILE_SECTION_NOT_ARRAY.format(key=key, found=json_type_name(tok.value())))
            for position, element in enumerate(_elements(tok, "[", "]")):
                yield Row(index, (key, element, position))
                index += 1
    if tok.peek() != "":
        line, column = tok.where()
        raise ImportFileError(FILE_TRAILING_DATA.format(line=line, column=column))


def _elements(tok: _JsonTokenizer, opening: str, closing: str) -> Iterator[Any]:
    tok.expect(opening, f"'{opening}'")
    if tok.peek() == closing:
        tok.pos += 1
        return
    while True:
        yield tok.value()
        if tok.expect("," + closing, f"',' or '{closing}'") == closing:
            return


def _members(tok: _JsonTokenizer) -> Iterator[str]:
    """Keys of an object, leaving the tokenizer at each member's value (the caller consumes it)."""
    tok.expect("{", "'{'")
    if tok.peek() == "}":
        tok.pos += 1
        return
    while True:
        if tok.peek() != '"':
            raise tok.fail("expected a property name in double quotes")
        key = tok.value()
        tok.expect(":", "':'")
        yield key
        if tok.expect(",}", "',' or '}'") == "}":
            return


class Reader:
    """Iterates the rows of one import file; `bytes_read` / `size` give the progress."""

    def __init__(self, path: str | Path, fmt: str, *, size: int | None = None):
        self.path = Path(path)
        self.format = fmt
        self.size = size if size is not None else self.path.stat().st_size
        self.columns: list[str] = []  # CSV header
        self._text: TextStream | None = None

    @property
    def bytes_read(self) -> int:
        return self._text.bytes_read if self._text else 0

    def rows(
        self, *, json_shapes: tuple[str, ...] = ("array",), sections: tuple[str, ...] = (), parse_jsonl: bool = True
    ) -> Iterator[Row]:
        with self.path.open("rb") as raw:
            self._text = TextStream(raw)
            if self.format == "json":
                yield from _iter_json(allow=json_shapes, text=self._text, sections=sections)
            elif self.format == "jsonl":
                yield from self._jsonl(parse=parse_jsonl)
            else:
                yield from self._csv()

    def scan(self, *, json_shapes: tuple[str, ...] = ("array",), sections: tuple[str, ...] = ()) -> Iterator[Row]:
        """`rows` without parsing what only a row can get wrong: a JSONL file is read to its end (so its
        encoding is checked) and each non-empty line counted as a row, its JSON left to the apply pass (which
        reports a bad line as that row's error). JSON and CSV files are parsed as they are by `rows`, since their
        structure can fail the whole file."""
        return self.rows(json_shapes=json_shapes, sections=sections, parse_jsonl=False)

    def scan_lines(self, *, every: int) -> Iterator[int]:
        """What `scan` does for a JSONL file, without a Row per line: the running count of its non-blank
        lines, yielded about every `every` lines and once at the end."""
        with self.path.open("rb") as raw:
            self._text = TextStream(raw)
            count = reported = 0
            for lines in self._line_chunks():
                count += len(lines) - lines.count("") - sum(map(str.isspace, lines))
                if count - reported >= every:
                    reported = count
                    yield count
            if not count:
                raise ImportFileError(FILE_EMPTY)
            yield count

    def _line_chunks(self) -> Iterator[list[str]]:
        """The file's lines, a decoded chunk's worth at a time (the last line may lack its newline)."""
        pending = ""
        while chunk := self._text.read():
            lines = (pending + chunk).split("\n")
            pending = lines.pop()
            yield lines
        if pending:
            yield [pending]

    def _lines(self) -> Iterator[str]:
        for lines in self._line_chunks():
            yield from lines

    def _jsonl(self, *, parse: bool = True) -> Iterator[Row]:
        loads = json.loads
        index = 0
        seen_any = False
        for line in self._lines():
            if not line.strip():
                continue
            seen_any = True
            if not parse:
                yield Row(index)
                index += 1
                continue
            try:
                yield Row(index, loads(line))
            except json.JSONDecodeError as exc:
                yield Row(index, error=ROW_INVALID_JSON.format(message=f"{exc.msg} at column {exc.colno}"))
            except (RecursionError, ValueError):
                yield Row(index, error=ROW_INVALID_JSON.format(message=VALUE_UNREADABLE))
            index += 1
        if not seen_any:
            raise ImportFileError(FILE_EMPTY)

    def _csv(self) -> Iterator[Row]:
        lines = (line + "\n" for line in self._lines())
        reader = csv.reader(lines, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                raise ImportFileError(FILE_EMPTY)
            header = [unescape_cell(h).strip() for h in header]
            if not any(header):
                raise ImportFileError(CSV_NO_HEADER)
            seen: set[str] = set()
            for column in header:
                if column in seen:
                    raise ImportFileError(CSV_DUPLICATE_COLUMN.format(column=column))
                seen.add(column)
            self.columns = header
            width = len(header)
            index = 0
            for cells in reader:
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue
                if len(cells) != width:
                    yield Row(index, error=ROW_COLUMN_COUNT.format(expected=width, found=len(cells)))
                else:
                    yield Row(index, dict(zip(header, map(unescape_cell, cells), strict=True)))
                index += 1
        except csv.Error as exc:
            raise ImportFileError(CSV_INVALID.format(line=reader.line_num, message=exc)) from None
