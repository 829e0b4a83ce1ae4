"""The code examples of the three seed documents (tests/compat/seeds/, copied verbatim from the vendors'
documentation), extracted programmatically so a test can run each exactly as written, with only its placeholders
filled in.

- Supervisely (000): the fenced ```python and ```json blocks.
- Encord (001): the text has no fences; an example starts at a line beginning ``from``, ``import`` or
  ``# Import dependencies`` and runs until the next line of prose (a line at the margin starting with a capital
  letter followed by a lower-case one, like "Example" or "Bulk custom metadata import ..."). Every block must parse
  as Python, which the extraction checks.
- Visual Layer (002): the fenced ```http (method and path) and ```json blocks.
"""

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

SEEDS = Path(__file__).resolve().parent / "seeds"
SUPERVISELY = SEEDS / "000_184456875aa03e78.txt"
ENCORD = SEEDS / "001_e91296d88427fa54.txt"
VISUAL_LAYER = SEEDS / "002_30e24f4ebd2f38ea.txt"

_FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_ENCORD_START = re.compile(r"^(from |import |#\s*Import dependencies)")
_PROSE = re.compile(r"^[A-Z][a-z]")


@dataclass(frozen=True)
class Example:
    line: int  # 1-based line of the example's first line in the seed
    title: str  # the nearest heading or prose line above it
    kind: str  # python, json, http
    code: str

    @property
    def name(self) -> str:
        return f"line {self.line}: {self.title}"

    def filled(self, placeholders: dict[str, str]) -> str:
        """The code with each placeholder replaced; a placeholder that does not occur is a mistake."""
        code = self.code
        for placeholder, value in placeholders.items():
            if placeholder not in code:
                raise AssertionError(f"{placeholder!r} is not in the example at {self.name}")
            code = code.replace(placeholder, value)
        return code


def _title(lines: list[str], index: int) -> str:
    """The nearest line of prose above line `index` (0-based), outside code blocks."""
    for line in reversed(lines[:index]):
        text = line.strip().lstrip("#").strip().strip("*`").strip()
        if re.search(r"[A-Za-z]{2}", text) and not text.startswith(("<", "-", "•", "{", "[", '"')):
            return text[:80]
    return ""


def fenced(path: Path) -> list[Example]:
    text = path.read_text()
    # Titles come from the prose: the lines of code blocks are blanked (the numbering stays).
    prose = _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text).splitlines()
    found = []
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        found.append(Example(line + 1, _title(prose, line - 1), match.group(1), match.group(2)))
    return found


def encord_examples() -> list[Example]:
    lines = ENCORD.read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        if not _ENCORD_START.match(lines[i]):
            i += 1
            continue
        j = i
        while j < len(lines) and not (lines[j][:1].strip() and _PROSE.match(lines[j])):
            j += 1
        code = "\n".join(lines[i:j]).strip() + "\n"
        ast.parse(code)  # an extraction that cut an example in two would not parse
        found.append(Example(i + 1, _title(lines, i), "python", code))
        i = j
    return found


def json_without_comments(code: str) -> object:
    """A JSON example; the documents annotate some with // comments (`"string" // or - float, ...`)."""
    return json.loads(re.sub(r"\s//[^\n]*", "", code))
