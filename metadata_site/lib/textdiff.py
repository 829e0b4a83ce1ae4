"""Line diffs for the Info tab's history (pure; the template escapes every line)."""

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "del", "ctx", "hunk" or "file"
    text: str


def unified_lines(old: str, new: str, *, old_label: str, new_label: str, context: int = 3) -> list[DiffLine]:
    """The unified diff of `old` → `new` as classified lines; empty when they are equal."""
    lines: list[DiffLine] = []
    diff = difflib.unified_diff(
        old.splitlines(), new.splitlines(), fromfile=old_label, tofile=new_label, n=context, lineterm=""
    )
    for number, line in enumerate(diff):
        if number < 2:
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        lines.append(DiffLine(kind, line))
    return lines
