"""CSV cells that a spreadsheet will not run as formulas (OWASP "CSV injection"), and back.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is written with a leading `'`, which
spreadsheets show as text; so is a cell that itself starts with `'`, which keeps the rule unambiguous: reading
drops exactly one leading `'` from a cell that has one. A plain number (`-3.5`, `-1e-05`) is no formula and is
written as it is, so numeric columns stay numbers in a spreadsheet.
"""

import re

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def escape_cell(text: str) -> str:
    if text.startswith(_TRIGGERS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def unescape_cell(text: str) -> str:
    return text[1:] if text.startswith("'") else text
