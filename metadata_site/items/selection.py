"""A selection: the items a bulk action acts on (bulk edit, add to or remove from a collection, create a dataset,
the explorer's selection bar). One form reads it, whichever page posted it, into one value.

`SelectionForm` reads the request parameters the pages already send (their documented shapes are kept):

- ticked items: repeated ``item=<uid>`` (the explorer's checkboxes, the folder page), and/or ``ids=<pk>``
  (repeated or comma-separated, the collections dialog), optionally with ``selection=ids``;
- a whole folder: ``folder=<id>`` (the folder page's bulk edit; its top-level items);
- every item a filter matches: ``selection=filter``, or ``all=1`` (the collections dialog's word for it), with
  the explorer's ``f`` / ``any`` / ``scope`` / ``sort`` parameters. The filter is re-evaluated on the server,
  never sent as a list of ids; it wins over ticked items sent with it.

and gives a `Selection`. Nothing here touches the database: the explorer resolves a selection to a queryset
(`explorer.selectors.resolve_selection`), collections to item ids or a filter state. Exports take the filter
form only (`filter_selection`).
"""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import QueryDict

from metadata_site.lib.userinput import AsciiIntegerField, parse_id

ITEMS = "items"
FOLDER = "folder"
FILTER = "filter"

# The explorer's parameters a filter selection carries (what `explorer.query.parse_query_string` reads).
FILTER_PARAMS = ("f", "any", "scope", "sort")
# Every parameter that describes a selection; a page carries these through a dialog as hidden inputs.
SELECTION_PARAMS = (*FILTER_PARAMS, "selection", "all", "item", "ids", "folder")

SELECTION_EMPTY = "Nothing is selected: tick some items, or select all matching the filter."
SELECTION_BAD_ITEM = "item: “{value}” is not an item id."
SELECTION_BAD_ID = "{param}: “{value}” is not an id."
QUOTED_VALUE_MAX = 80  # characters of a refused value quoted back


def _quoted(value: str) -> str:
    return value if len(value) <= QUOTED_VALUE_MAX else value[: QUOTED_VALUE_MAX - 1] + "…"


@dataclass(frozen=True)
class Selection:
    """What is selected: `kind` is ITEMS (`uids` and/or `ids`, as given, duplicates dropped), FOLDER (`folder`)
    or FILTER (every item `params` match). `params` are the explorer's filter parameters posted with the
    selection, as (name, value) pairs in the order given, whatever the kind (a page may keep the filter the
    items were ticked under, e.g. for a live collection or a link back to the explorer)."""

    kind: str
    uids: tuple[uuid.UUID, ...] = ()
    ids: tuple[int, ...] = ()
    folder: int | None = None
    params: tuple[tuple[str, str], ...] = ()

    @property
    def matching(self) -> bool:
        """Every item the filter matches (rather than named items or a folder)."""
        return self.kind == FILTER

    def query_dict(self) -> QueryDict:
        """The filter parameters as a QueryDict, for the explorer's parser and links."""
        data = QueryDict(mutable=True)
        for key, value in self.params:
            data.appendlist(key, value)
        return data


def _getlist(data: Mapping[str, Any], key: str) -> list[str]:
    if hasattr(data, "getlist"):
        return [str(v) for v in data.getlist(key)]
    value = data.get(key)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def parse_item_uids(values: Iterable[str]) -> tuple[uuid.UUID, ...]:
    """Item media ids (UUIDs), in order, duplicates dropped; ValidationError naming the first bad one."""
    uids: dict[uuid.UUID, None] = {}
    for value in values:
        try:
            uids[uuid.UUID(value.strip())] = None
        except ValueError:
            raise forms.ValidationError(SELECTION_BAD_ITEM.format(value=_quoted(value)), code="bad_item") from None
    return tuple(uids)


def parse_id_list(values: Iterable[str], *, param: str = "ids") -> tuple[int, ...]:
    """Database ids (of items, or of collections) from repeated and/or comma-separated values of the parameter
    `param`, in order, duplicates dropped; ValidationError naming the first bad one."""
    ids: dict[int, None] = {}
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            pk = parse_id(part)
            if pk is None:
                raise forms.ValidationError(
                    SELECTION_BAD_ID.format(param=param, value=_quoted(part)), code="bad_id"
                )
            ids[pk] = None
    return tuple(ids)


class SelectionForm(forms.Form):
    """Reads a selection (see the module docstring); `cleaned_data["value"]` (also `form.value`) is the
    Selection. Refusals: SELECTION_EMPTY (unless `allow_empty`: the collections dialog opens, and can make a
    collection, with no item), SELECTION_BAD_ITEM, SELECTION_BAD_ID, a bad folder id."""

    selection = forms.ChoiceField(choices=[("", ""), ("ids", "ids"), (FILTER, FILTER)], required=False)
    all = forms.BooleanField(required=False)
    folder = AsciiIntegerField(required=False, min_value=1)

    def __init__(self, data: Mapping[str, Any], *, allow_empty: bool = False, **kwargs) -> None:
        super().__init__(data, **kwargs)
        self.allow_empty = allow_empty

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        data = self.data
        params = tuple((key, value) for key in FILTER_PARAMS for value in _getlist(data, key))
        if cleaned.get("all") or cleaned.get("selection") == FILTER:
            cleaned["value"] = Selection(FILTER, params=params)
        elif cleaned.get("folder"):
            cleaned["value"] = Selection(FOLDER, folder=cleaned["folder"], params=params)
        else:
            uids = parse_item_uids(_getlist(data, "item"))
            ids = parse_id_list(_getlist(data, "ids"))
            if not uids and not ids and not self.allow_empty:
                raise forms.ValidationError(SELECTION_EMPTY, code="empty")
            cleaned["value"] = Selection(ITEMS, uids=uids, ids=ids, params=params)
        return cleaned

    @property
    def value(self) -> Selection:
        return self.cleaned_data["value"]

    def error_message(self) -> str:
        """The form's refusal as one line: the first error, after the parameter it is about."""
        for name, errors in self.errors.items():
            for error in errors:
                return str(error) if name == NON_FIELD_ERRORS else f"{name}: {error}"
        return ""


def filter_selection(data: Mapping[str, Any]) -> Selection:
    """Every item the explorer filter parameters of `data` match (an export's selection: its ``f`` / ``any`` /
    ``scope``, with or without ``selection=filter``); `data` is a QueryDict or a dict of lists."""
    return Selection(FILTER, params=tuple((key, value) for key in FILTER_PARAMS for value in _getlist(data, key)))
