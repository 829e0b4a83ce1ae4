"""One selection form for every page: each vocabulary the pages post (the explorer's, the bulk edit's, the
collections dialog's) reads into one Selection, and a bad or empty selection is refused with the same message
on the explorer's selection page, the bulk edit and the collections dialog."""

import uuid

import pytest
from django.http import QueryDict
from django.urls import reverse

from metadata_site.collections.models import Collection
from metadata_site.items.models import ChangeSet
from metadata_site.items.selection import (
    FILTER,
    FOLDER,
    ITEMS,
    SELECTION_BAD_ID,
    SELECTION_BAD_ITEM,
    SELECTION_EMPTY,
    Selection,
    SelectionForm,
    filter_selection,
)
from tests.factories import make_folder, make_item, make_schema

A = "1b0c7b6e-6a3c-4c2b-9a51-6a7f2f0d9c01"
B = "2b0c7b6e-6a3c-4c2b-9a51-6a7f2f0d9c02"


def _qd(pairs: list[tuple[str, str]]) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in pairs:
        data.appendlist(key, value)
    return data


def _read(pairs: list[tuple[str, str]], **kwargs) -> Selection:
    form = SelectionForm(_qd(pairs), **kwargs)
    assert form.is_valid(), form.errors
    return form.value


FILTER_ONLY = Selection(FILTER, params=(("f", "weather:eq:Rain"), ("scope", "folder:3")))


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        # ticked items: the explorer (selection=ids), the folder page (no selection word), the collections
        # dialog (ids by pk, repeated or comma-separated)
        ([("selection", "ids"), ("item", A), ("item", B)], Selection(ITEMS, uids=(uuid.UUID(A), uuid.UUID(B)))),
        ([("item", A), ("item", A)], Selection(ITEMS, uids=(uuid.UUID(A),))),
        ([("ids", "4,5"), ("ids", "6"), ("ids", "4")], Selection(ITEMS, ids=(4, 5, 6))),
        ([("item", A), ("ids", "7")], Selection(ITEMS, uids=(uuid.UUID(A),), ids=(7,))),
        # a whole folder (the folder page's bulk edit), which wins over ticked items
        ([("folder", "3"), ("item", A)], Selection(FOLDER, folder=3)),
        # every item a filter matches: the explorer's word and the collections dialog's, with the same meaning
        ([("selection", "filter"), ("f", "weather:eq:Rain"), ("scope", "folder:3"), ("item", A)], FILTER_ONLY),
        ([("all", "1"), ("f", "weather:eq:Rain"), ("scope", "folder:3"), ("ids", "4")], FILTER_ONLY),
    ],
)
def test_every_vocabulary_reads_into_one_selection(pairs, expected):
    assert _read(pairs) == expected


def test_the_filter_posted_with_ticked_items_is_kept():
    selected = _read([("item", A), ("f", "weather:eq:Rain"), ("csrfmiddlewaretoken", "x"), ("field", "dark")])
    assert selected.kind == ITEMS and not selected.matching
    assert list(selected.query_dict().lists()) == [("f", ["weather:eq:Rain"])]


def test_an_export_reads_its_filter_as_a_filter_selection():
    assert filter_selection({"f": ["weather:eq:Rain"], "scope": "folder:3", "format": "csv"}) == FILTER_ONLY


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([], SELECTION_EMPTY),
        ([("selection", "ids")], SELECTION_EMPTY),
        ([("item", "nope")], SELECTION_BAD_ITEM.format(value="nope")),
        ([("item", A), ("item", "x" * 200)], SELECTION_BAD_ITEM.format(value="x" * 79 + "…")),
        ([("ids", "4,x")], SELECTION_BAD_ID.format(param="ids", value="x")),
        ([("ids", "-1")], SELECTION_BAD_ID.format(param="ids", value="-1")),
        ([("folder", "abc")], "folder: Enter a whole number in the digits 0-9 (at most 18 of them)."),
        ([("selection", "some")], "selection: Select a valid choice. some is not one of the available choices."),
    ],
)
def test_a_bad_or_empty_selection_is_refused_with_one_clear_message(pairs, message):
    form = SelectionForm(_qd(pairs))
    assert not form.is_valid()
    assert form.error_message() == message


def test_the_collections_dialog_may_open_with_nothing_ticked():
    assert _read([], allow_empty=True) == Selection(ITEMS)


# --- the same refusal on every page ----------------------------------------------------------------


@pytest.fixture
def item(workspace):
    make_schema(workspace, [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]}])
    return make_item(make_folder(workspace, "fleet"), "a.jpg", metadata={"weather": "Sunny"})


def _pages(slug: str) -> dict[str, tuple[str, dict]]:
    bulk = {"field": "weather", "action": "set", "value": "Rain", "apply": "1"}
    return {
        "explorer selection": (reverse("explorer:selection", args=[slug]), {}),
        "bulk edit": (reverse("items:bulk-edit", args=[slug]), bulk),
        "collections dialog": (reverse("collections:add-items", args=[slug]), {"target": "new", "title": "T"}),
    }


@pytest.mark.parametrize("page", ["explorer selection", "bulk edit", "collections dialog"])
def test_a_malformed_item_id_is_refused_with_the_same_message_on_every_page(login, editor, workspace, item, page):
    url, extra = _pages(workspace.slug)[page]
    response = login(editor).post(url, {**extra, "selection": "ids", "item": [str(item.uid), "nope"]})
    assert response.status_code == 400
    assert SELECTION_BAD_ITEM.format(value="nope") in response.content.decode()
    item.refresh_from_db()
    assert item.client_metadata == {"weather": "Sunny"}
    assert not ChangeSet.objects.exists() and not Collection.objects.exists()


@pytest.mark.parametrize("page", ["explorer selection", "bulk edit"])
def test_an_empty_selection_is_refused_with_the_same_message(login, editor, workspace, item, page):
    url, extra = _pages(workspace.slug)[page]
    response = login(editor).post(url, {**extra, "selection": "ids"})
    assert response.status_code == 400
    assert SELECTION_EMPTY in response.content.decode()
