"""Per-key differences of two metadata objects, and the JSON text a page shows for a value (pure)."""

import json
from dataclasses import dataclass
from typing import Any

ADDED = "added"
REMOVED = "removed"
CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class KeyChange:
    key: str
    op: str  # ADDED, REMOVED or CHANGED
    before: Any = None
    after: Any = None


def as_json(value: Any) -> str:
    """`value` as JSON text (true, null, {"a": [1]}), never Python's repr (True, None, {'a': [1]}); keys sorted, so
    two objects read alike whatever order each database kept."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError):
        return json.dumps(str(value), ensure_ascii=False)


def _same(a: Any, b: Any) -> bool:
    # 1 and 1.0 and True compare equal in Python; as JSON they differ.
    return as_json(a) == as_json(b)


def key_diff(before: Any, after: Any) -> list[KeyChange]:
    """The top-level keys whose value differs between two objects, in the order they appear (before's keys
    first); anything that is not an object counts as an empty one."""
    old = before if isinstance(before, dict) else {}
    new = after if isinstance(after, dict) else {}
    changes = []
    for key in [*old, *(k for k in new if k not in old)]:
        if key not in new:
            changes.append(KeyChange(key, REMOVED, before=old[key]))
        elif key not in old:
            changes.append(KeyChange(key, ADDED, after=new[key]))
        elif not _same(old[key], new[key]):
            changes.append(KeyChange(key, CHANGED, before=old[key], after=new[key]))
    return changes
