"""Creating many items at once (data imports): pks in input order, metadata, frames under their group."""

import pytest

from metadata_site.items.models import Item, ItemKind
from metadata_site.items.services import NewItem, items_create_bulk

from ..factories import make_folder, make_workspace

pytestmark = pytest.mark.django_db


def test_it_creates_the_items_and_returns_their_pks_in_input_order():
    workspace = make_workspace()
    folder = make_folder(workspace)
    specs = [NewItem(f"img_{k}.jpg", ItemKind.IMAGE, f"https://x.example/{k}.jpg", {"n": k, "t": "é"})
             for k in (3, 1, 2)]
    pks = items_create_bulk(workspace=workspace, folder_id=folder.pk, items=specs)
    created = Item.objects.in_bulk(pks)
    assert [(created[pk].title, created[pk].client_metadata, created[pk].media_url) for pk in pks] == [
        (s.title, s.metadata, s.media_url) for s in specs
    ]
    assert len({created[pk].uid for pk in pks}) == 3
    assert {created[pk].uid.version for pk in pks} == {7}  # time-ordered (lib/uids.py)
    assert all(created[pk].workspace_id == workspace.pk and created[pk].folder_id == folder.pk for pk in pks)


def test_frames_are_created_under_their_group_with_their_index():
    workspace = make_workspace()
    folder = make_folder(workspace)
    (group,) = items_create_bulk(workspace=workspace, folder_id=folder.pk,
                                 items=[NewItem("g", ItemKind.IMAGE_GROUP, "", {})])
    frames = items_create_bulk(
        workspace=workspace, folder_id=folder.pk,
        items=[NewItem(f"g #{i}", ItemKind.FRAME, f"https://x.example/{i}.jpg", {}, group, i) for i in range(2)],
    )
    assert list(Item.objects.filter(pk__in=frames).order_by("frame_index").values_list("parent_id", "frame_index")) == [
        (group, 0), (group, 1)
    ]


def test_nothing_to_create_runs_no_query(django_assert_num_queries):
    workspace = make_workspace()
    with django_assert_num_queries(0):
        assert items_create_bulk(workspace=workspace, folder_id=1, items=[]) == []


def test_awkward_metadata_titles_and_uids_read_back_exactly_through_the_orm():
    workspace = make_workspace()
    folder = make_folder(workspace)
    metadata = {
        "nested": {"a": [1, 2.5, None, True, {"b": "c"}]},
        "quotes": 'say "hi" \\ back\\slash',
        "unicode": "ünïcödé 🚀 中文",
        "big": 9007199254740993,
        "float": 0.1,
        "negative": -3.25e-7,
        "empty": {},
        "list": [],
    }
    (pk,) = items_create_bulk(
        workspace=workspace, folder_id=folder.pk,
        items=[NewItem('a "quoted" title, ünïcode', ItemKind.IMAGE, "https://x.example/ü.jpg?a=1&b=2", metadata)],
    )
    item = Item.objects.get(pk=pk)
    assert item.client_metadata == metadata
    assert item.title == 'a "quoted" title, ünïcode'
    assert item.media_url == "https://x.example/ü.jpg?a=1&b=2"
    assert Item.objects.get(uid=item.uid).pk == pk
    assert item.created_at is not None and item.created_at.tzinfo is not None
    assert item.created_at == item.updated_at


def test_text_with_backslashes_tabs_newlines_quotes_and_unicode_arrives_as_written():
    workspace = make_workspace()
    folder = make_folder(workspace)
    tricky = 'a\\b\tc\nd\re "q" é 😀 \\N'
    spec = NewItem("img \\ tab\there.jpg", ItemKind.IMAGE, "https://x.example/a\\b.jpg",
                   {"note": tricky, "nested": {"k\\ey\t": [tricky, None, 1.5, True]}, "empty": ""})
    plain = NewItem("plain.jpg", ItemKind.IMAGE, "", {})
    pks = items_create_bulk(workspace=workspace, folder_id=folder.pk, items=[spec, plain])
    first, second = (Item.objects.get(pk=pk) for pk in pks)
    assert (first.title, first.media_url, first.client_metadata) == (spec.title, spec.media_url, spec.metadata)
    assert (second.media_url, second.client_metadata, second.parent_id, second.frame_index) == ("", {}, None, None)
