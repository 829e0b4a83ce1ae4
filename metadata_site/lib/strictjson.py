"""Strict parsing of custom-data JSON text (and checks of already-parsed JSON values).

Rules, each with its own message: valid JSON only (the message names line and column), the top level is an
object, no duplicate keys (the message names the key and its line), no NaN/Infinity (nor numbers too large
to be finite), at most 1 MB (1,048,576 bytes of UTF-8 as submitted), nesting depth at most 64, and no NUL
characters or unpaired surrogates in strings (PostgreSQL cannot store them).

Nesting depth is checked by a flat scan before parsing, so a 10,000-deep input gets the clear depth error,
never a RecursionError.
"""

import json
import math
import re
from typing import Any

from .errors import MessageError

MAX_BYTES = 1_048_576
MAX_DEPTH = 64

EMPTY = "The JSON text is empty: write an object, for example {}."
INVALID_JSON = "Invalid JSON at line {line}, column {column}: {detail}."
NOT_AN_OBJECT = "The top level must be a JSON object ({{...}}), not {kind}."
DUPLICATE_KEY = 'Duplicate key "{key}" at line {line}, column {column}: each key may appear only once in an object.'
DUPLICATE_KEY_NO_POSITION = 'Duplicate key "{key}": each key may appear only once in an object.'
NON_FINITE = "{value} at line {line}, column {column} is not allowed: JSON numbers must be finite."
NON_FINITE_NO_POSITION = "{value} at {path} is not allowed: JSON numbers must be finite."
TOO_LARGE = "The JSON text is {size:,} bytes; at most {limit:,} bytes (1 MB) are allowed."
TOO_DEEP = "Nesting is deeper than {limit} levels at line {line}, column {column}."
TOO_DEEP_NO_POSITION = "Nesting is deeper than {limit} levels at {path}."
NUL_CHARACTER = "A string at {path} contains a NUL character (\\u0000), which cannot be stored."
LONE_SURROGATE = "A string at {path} contains the lone surrogate {code} (an unpaired surrogate), which is not valid Unicode."
NOT_JSON_TYPE = "The value at {path} is a {kind}, which is not a JSON type."
KEY_NOT_STRING = "A key at {path} is {kind}; JSON object keys are strings."
NUMBER_TOO_LONG = "The number at line {line}, column {column} has more than {limit:,} digits."
NUMBER_TOO_LONG_NO_POSITION = "The number at {path} has more than {limit:,} digits."
MAX_INT_DIGITS = 4000
NOT_UTF8 = "The text is not valid UTF-8 (byte {position})."

_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean", type(None): "null"}

# Tokens that matter outside strings. A string token runs to its closing quote, or to the end of the text when
# it is unterminated, so brackets and words inside strings are never mistaken for structure.
_TOKEN = re.compile(
    r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\Z)'  # a string
    r"|[\[\]{}:,]"  # structure
    r"|-?Infinity|NaN"  # non-finite constants Python's json would accept
    r"|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?",  # a number
    re.S,
)
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")


class StrictJSONError(MessageError):
    """A rule was broken. `line` and `column` are 1-based (None when the value was not parsed from text);
    `path` is the JSON path of the offending value when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None, *, path=None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.path = list(path) if path is not None else None

    def __str__(self) -> str:
        return self.message


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


class _NonFinite(Exception):
    def __init__(self, value: str) -> None:
        self.value = value


class _TooLong(Exception):
    def __init__(self, value: str) -> None:
        self.value = value


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def format_path(path) -> str:
    """`["a", 0, "b"]` → `$.a[0].b` (keys that are not plain words are quoted: `$["a b"]`)."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def _kind(value: Any) -> str:
    return "an object" if isinstance(value, dict) else _KINDS.get(type(value), type(value).__name__)


def _check_depth(text: str) -> None:
    if text.count("{") + text.count("[") <= MAX_DEPTH:
        return
    depth = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in ("{", "["):
            depth += 1
            if depth > MAX_DEPTH:
                line, column = _line_col(text, match.start())
                raise StrictJSONError(TOO_DEEP.format(limit=MAX_DEPTH, line=line, column=column), line, column)
        elif token in ("}", "]"):
            depth -= 1


def _locate_duplicate(text: str, key: str) -> tuple[int, int] | None:
    """Line and column of the first key in the text that repeats a key of its own object."""
    stack: list[set | None] = []  # a set of keys seen for an object, None for an array
    expect_key = False
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in ("{", "["):
            stack.append(set() if token == "{" else None)
            expect_key = token == "{"
        elif token in ("}", "]"):
            if stack:
                stack.pop()
            expect_key = False
        elif token == ",":
            expect_key = bool(stack) and stack[-1] is not None
        elif token == ":":
            expect_key = False
        elif expect_key and token.startswith('"'):
            try:
                name = json.loads(token)
            except ValueError:
                return None
            seen = stack[-1]
            if name in seen:
                return _line_col(text, match.start())
            seen.add(name)
            expect_key = False
    return None


def _locate_constant(text: str, value: str) -> tuple[int, int] | None:
    for match in _TOKEN.finditer(text):
        if match.group() == value:
            return _line_col(text, match.start())
    return None


def _pairs(pairs: list[tuple[str, Any]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


def _constant(name: str) -> float:
    raise _NonFinite(name)


def _float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _NonFinite(literal)
    return value


def _int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INT_DIGITS:
        raise _TooLong(literal)
    return int(literal)


def _path(node) -> tuple:
    """The JSON path of a node of `_walk`'s parent chain ((parent, key) pairs, None at the top)."""
    parts = []
    while node is not None:
        node, key = node
        parts.append(key)
    return tuple(reversed(parts))


def _walk(obj: Any, *, parsed: bool) -> None:
    """Depth, types and string contents of a value, without recursion. `parsed` values came from our own
    parser, so only string contents remain to check. Scalars are checked where they are met, and a path is built
    only for an error, so a large body (an API call with 10,000 items) costs little more than its parse."""
    stack: list[tuple[Any, Any, int]] = [(obj, None, 1)]
    search = _BAD_CHARS.search
    while stack:
        value, node, depth = stack.pop()
        if isinstance(value, dict):
            if depth > MAX_DEPTH:
                path = _path(node)
                raise StrictJSONError(TOO_DEEP_NO_POSITION.format(limit=MAX_DEPTH, path=format_path(path)), path=path)
            for key, child in value.items():
                if type(key) is not str:
                    path = _path(node)
                    raise StrictJSONError(KEY_NOT_STRING.format(path=format_path(path), kind=_kind(key)), path=path)
                if search(key):
                    _bad_string(key, (*_path(node), key))
                if type(child) is str:
                    if search(child):
                        _bad_string(child, (*_path(node), key))
                else:
                    _check_scalar_or_push(child, (node, key), depth, parsed, stack)
        elif isinstance(value, list):
            if depth > MAX_DEPTH:
                path = _path(node)
                raise StrictJSONError(TOO_DEEP_NO_POSITION.format(limit=MAX_DEPTH, path=format_path(path)), path=path)
            for i, child in enumerate(value):
                if type(child) is str:
                    if search(child):
                        _bad_string(child, (*_path(node), i))
                else:
                    _check_scalar_or_push(child, (node, i), depth, parsed, stack)
        else:
            _check_scalar_or_push(value, node, depth - 1, parsed, stack)


def _check_scalar_or_push(value: Any, node, depth: int, parsed: bool, stack: list) -> None:
    """`value` sits at `node`, inside a container at `depth`: containers go on the stack, scalars are checked."""
    if isinstance(value, dict | list):
        stack.append((value, node, depth + 1))
    elif isinstance(value, str):
        if _BAD_CHARS.search(value):
            _bad_string(value, _path(node))
    elif parsed or value is None or isinstance(value, bool):
        return
    elif isinstance(value, int):
        if value.bit_length() > MAX_INT_DIGITS * 3:  # about 900 digits fewer than MAX_INT_DIGITS: safe
            path = _path(node)
            raise StrictJSONError(NUMBER_TOO_LONG_NO_POSITION.format(path=format_path(path), limit=MAX_INT_DIGITS), path=path)
    elif isinstance(value, float):
        if not math.isfinite(value):
            path = _path(node)
            raise StrictJSONError(NON_FINITE_NO_POSITION.format(value=value, path=format_path(path)), path=path)
    else:
        path = _path(node)
        raise StrictJSONError(NOT_JSON_TYPE.format(path=format_path(path), kind=type(value).__name__), path=path)


def _bad_string(value: str, path) -> None:
    if "\x00" in value:
        raise StrictJSONError(NUL_CHARACTER.format(path=format_path(path)), path=path)
    code = next(f"\\u{ord(c):04x}" for c in value if "\ud800" <= c <= "\udfff")
    raise StrictJSONError(LONE_SURROGATE.format(path=format_path(path), code=code), path=path)


def _check_object(obj: Any, line: int | None = None, column: int | None = None) -> None:
    if not isinstance(obj, dict):
        raise StrictJSONError(NOT_AN_OBJECT.format(kind=_kind(obj)), line, column)


def parse(text: str) -> dict:
    """Parse custom-data text strictly; return the object or raise StrictJSONError."""
    obj = loads(text)
    _check_object(obj, *_line_col(text, len(text) - len(text.lstrip())))
    return obj


def loads(text: str, *, max_bytes: int | None = MAX_BYTES) -> Any:
    """Parse JSON text of any top-level type by the same rules; `max_bytes=None` leaves the size to the caller
    (an API body holding many objects, each checked on its own)."""
    if max_bytes is not None:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            raise StrictJSONError(TOO_LARGE.format(size=size, limit=max_bytes))
    if not text.strip():
        raise StrictJSONError(EMPTY, 1, 1)
    if len(text) <= MAX_BYTES:
        # The located error. A larger body (max_bytes=None) skips this scan, which costs ten parses: its depth
        # error comes from the walk below, or the parser's own recursion guard past a thousand levels.
        _check_depth(text)
    try:
        obj = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except json.JSONDecodeError as exc:
        detail = exc.msg[:1].lower() + exc.msg[1:].removesuffix(" at")
        raise StrictJSONError(
            INVALID_JSON.format(line=exc.lineno, column=exc.colno, detail=detail), exc.lineno, exc.colno
        ) from None
    except _DuplicateKey as exc:
        where = _locate_duplicate(text, exc.key)
        if where is None:
            raise StrictJSONError(DUPLICATE_KEY_NO_POSITION.format(key=exc.key)) from None
        raise StrictJSONError(DUPLICATE_KEY.format(key=exc.key, line=where[0], column=where[1]), *where) from None
    except _NonFinite as exc:
        where = _locate_constant(text, exc.value) or (None, None)
        raise StrictJSONError(NON_FINITE.format(value=exc.value, line=where[0], column=where[1]), *where) from None
    except _TooLong as exc:
        line, column = _locate_constant(text, exc.value) or (None, None)
        message = NUMBER_TOO_LONG.format(line=line, column=column, limit=MAX_INT_DIGITS)
        raise StrictJSONError(message, line, column) from None
    except RecursionError:  # only for texts over 1 MB, which _check_depth does not scan
        raise StrictJSONError(TOO_DEEP_NO_POSITION.format(limit=MAX_DEPTH, path="$")) from None
    _walk(obj, parsed=True)
    return obj


def loads_body(body: bytes) -> Any:
    """A request body (UTF-8 bytes; empty is null) parsed by these rules, except the size: the web server's upload
    limit bounds a body, and each object in it that is stored gets its own check."""
    if not body.strip():
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StrictJSONError(NOT_UTF8.format(position=exc.start)) from None
    return loads(text, max_bytes=None)


def check_value(obj: Any) -> None:
    """Apply the same rules to an already-parsed value (an API body): an object, JSON types only, finite
    numbers, depth at most 64, at most 1 MB when serialised compactly as UTF-8."""
    _check_object(obj)
    _walk(obj, parsed=False)
    check_size(obj)


def check_member(key: str, value: Any) -> None:
    """The rules other than size for one member of an object (an undeclared metadata key): JSON types, finite
    numbers, no NUL or unpaired surrogate, the value nested at most 63 levels below the object."""
    _walk({key: value}, parsed=False)


def check_size(obj: Any, text: str | None = None) -> None:
    """At most 1 MB as compact UTF-8 JSON; `text` is that JSON when the caller has it already."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":")) if text is None else text
    if len(text) * 4 > MAX_BYTES:  # only then can it be over: a character is at most 4 bytes
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_BYTES:
            raise StrictJSONError(TOO_LARGE.format(size=size, limit=MAX_BYTES))


def dumps_pretty(obj: Any, *, sort_keys: bool = False) -> str:
    """The pretty form shown in the editor (2-space indent, key order as stored). Diffs pass sort_keys=True:
    PostgreSQL's jsonb does not keep key order, so sorted keys keep diffs free of reordering noise."""
    return json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=sort_keys)
