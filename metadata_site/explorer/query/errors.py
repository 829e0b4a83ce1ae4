"""Bad filter input: `FilterError`, its messages (constants, so tests can check them) and the limits it enforces."""

from __future__ import annotations

from metadata_site.lib.errors import MessageError

FILTER_MALFORMED = "{param}: expected <field>:<op>:<value>, got {raw!r}"
FILTER_UNKNOWN_FIELD = "{param}: unknown field {field!r} (not declared in the schema)"
FILTER_BAD_OPERATOR = "{param}: operator {op!r} is not allowed for {field!r} ({kind}); allowed: {allowed}"
FILTER_BAD_VALUE = "{param}: {field!r} expects {expected}, got {raw!r}"
FILTER_BAD_OPTION = "{param}: {value!r} is not an option of {field!r}; options: {options}"
FILTER_BAD_RANGE = "{param}: a range is <low>..<high>, got {raw!r}"
FILTER_EMPTY_RANGE = "{param}: the range {raw!r} is empty (low > high)"
FILTER_NO_VALUE = "{param}: operator {op!r} takes no value"
FILTER_NEEDS_VALUE = "{param}: operator {op!r} needs a value"
FILTER_BAD_SCOPE = "scope: expected folder:<id>, dataset:<id> or collection:<id>, got {raw!r}"
FILTER_BAD_SORT = "sort: cannot sort by {field!r}; sort by title or a declared field that is not a multi enum"
FILTER_BAD_CURSOR = "after: not a cursor of this sort ({raw!r})"
FILTER_BAD_JSON = "{param}: {problem}"
FILTER_TOO_MANY = "{param}: at most {limit} conditions"
FILTER_VALUE_TOO_LONG = "{param}: a filter value is at most {limit:,} characters, got {length:,}"
FILTER_BAD_KEY = "{param}: a metadata key is 1 to {limit} characters, got {length}"
SCOPE_NOT_FOUND = "scope: no {kind} {id} in this workspace"
SCOPE_TOO_DEEP = "scope: collection {id} nests live collections more than {limit} deep"

MAX_CONDITIONS = 50
MAX_LIST = 100
MAX_VALUE_LENGTH = 1000
MAX_KEY_LENGTH = 200  # a field name or undeclared key (a declared field's name is at most 100 characters)
MAX_SCOPE_DEPTH = 10  # live collections scoped to live collections, followed at most this deep
# Parameter names quote the condition; a longer one is cut so an error never echoes a huge input.
LABEL_LENGTH = 80


class FilterError(MessageError):
    """Bad filter input. ``str(err)`` is a message for people; ``param`` names the parameter."""

    def __init__(self, message: str, *, param: str = "f"):
        super().__init__(message)
        self.param = param


def short(text: str) -> str:
    """`text` cut to `LABEL_LENGTH` characters, for quoting user input in a message."""
    return text if len(text) <= LABEL_LENGTH else text[: LABEL_LENGTH - 1] + "…"
