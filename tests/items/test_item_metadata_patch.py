"""item_metadata_patch: the set-based write of validated patches by uid (PostgreSQL only)."""

import hashlib
import json

import pytest
from django.db import connection

from metadata_site.items.models import ChangeSet, ChangeSetEntry, Item
from metadata_site.items.services import (
    PG_HASH_PREFIX,
    batches,
    change_set_entries,
    change_set_undo,
    item_metadata_patch,
    item_metadata_write,
)

from ..factories import make_dataset, make_folder, make_item, make_project, make_workspace

pytestmark = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="a PostgreSQL statement")


@pytest.fixture
def folder(workspace):
    return make_folder(workspace, "cams")


@pytest.fixture
def change_set(workspace, owner):
    return ChangeSet.objects.create(workspace=workspace, user=owner, operation="import", source="import")


def _patch(i, item, p=None, r=None, x=False):
    doc = {"i": i, "u": str(item.uid)}
    if x:
        doc["x"] = True
    else:
        doc["p"] = p or {}
    if r:
        doc["r"] = r
    return json.dumps(doc)


def _md(item):
    item.refresh_from_db()
    return item.client_metadata


def test_a_merge_sets_the_given_keys_removes_the_listed_ones_and_keeps_the_rest(workspace, folder, change_set):
    a = make_item(folder, "a.jpg", metadata={"camera": "cam-1", "weather": "Fog", "note": {"x": None}})
    result = item_metadata_patch(workspace=workspace, change_set=change_set, merge=True,
                                 patches=[_patch(0, a, {"weather": "Sunny", "dark": True}, r=["camera"])])
    assert (result.matched, result.changed, result.missing, result.changed_ids) == (1, 1, [], [a.pk])
    assert _md(a) == {"weather": "Sunny", "dark": True, "note": {"x": None}}


def test_an_overwrite_replaces_the_whole_object(workspace, folder, change_set):
    a = make_item(folder, "a.jpg", metadata={"camera": "cam-1", "weather": "Fog"})
    item_metadata_patch(workspace=workspace, change_set=change_set, merge=False,
                        patches=[_patch(0, a, {"dark": False})])
    assert _md(a) == {"dark": False}


def test_an_unchanged_item_is_matched_but_neither_written_nor_recorded(workspace, folder, change_set):
    a = make_item(folder, "a.jpg", metadata={"temperature": 1})
    before = a.updated_at
    result = item_metadata_patch(workspace=workspace, change_set=change_set, merge=True,
                                 patches=[_patch(0, a, {"temperature": 1.0})])
    assert (result.matched, result.changed) == (1, 0)
    a.refresh_from_db()
    assert a.updated_at == before
    assert change_set_entries(change_set) == [] and not change_set.batches.exists()


def test_uids_outside_the_scope_are_reported_missing_by_their_index(workspace, owner, folder, change_set):
    inside = make_item(folder, "in.jpg")
    other_folder = make_item(make_folder(workspace, "other"), "out.jpg")
    elsewhere = make_item(make_folder(make_workspace("elsewhere")), "far.jpg")
    patches = [_patch(0, inside, {"dark": True}), _patch(1, other_folder, {"dark": True}),
               _patch(2, elsewhere, {"dark": True})]
    result = item_metadata_patch(workspace=workspace, change_set=change_set, merge=True, patches=patches,
                                 folder_ids=[folder.pk])
    assert (result.matched, sorted(result.missing)) == (1, [1, 2])
    assert (_md(inside), _md(other_folder), _md(elsewhere)) == ({"dark": True}, {}, {})


def test_a_dataset_scope_matches_only_its_members(workspace, folder, change_set):
    member, outsider = make_item(folder, "m.jpg"), make_item(folder, "o.jpg")
    dataset = make_dataset(make_project(workspace), items=[member])
    result = item_metadata_patch(workspace=workspace, change_set=change_set, merge=True, dataset_id=dataset.pk,
                                 patches=[_patch(0, member, {"dark": True}), _patch(1, outsider, {"dark": True})])
    assert (result.matched, result.missing) == (1, [1])
    assert (_md(member), _md(outsider)) == ({"dark": True}, {})


def test_a_check_only_row_is_matched_and_left_alone(workspace, folder, change_set):
    a = make_item(folder, "a.jpg", metadata={"dark": True})
    result = item_metadata_patch(workspace=workspace, change_set=change_set, merge=True, patches=[_patch(4, a, x=True)])
    assert (result.matched, result.changed, result.missing) == (0, 0, [])
    assert _md(a) == {"dark": True}


def test_a_second_write_in_the_same_change_set_keeps_the_first_previous_value(workspace, owner, folder, change_set):
    a = make_item(folder, "a.jpg", metadata={"camera": "cam-0"})
    item_metadata_patch(workspace=workspace, change_set=change_set, merge=True, patches=[_patch(0, a, {"camera": "cam-1"})])
    item_metadata_patch(workspace=workspace, change_set=change_set, merge=True, patches=[_patch(1, a, {"camera": "cam-2"})])
    change_set.refresh_from_db()
    # One record per batch, no entry per item.
    assert (change_set.batches.count(), change_set.entries.count()) == (2, 0)
    [entry] = change_set_entries(change_set)
    assert (change_set.item_count, entry.item_id, entry.previous) == (1, a.pk, {"camera": "cam-0"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT jsonb_hash_extended(client_metadata, 0) FROM items_item WHERE id = %s", [a.pk])
        (digest,) = cursor.fetchone()
    assert entry.new_hash == f"{PG_HASH_PREFIX}{digest}"
    result = change_set_undo(change_set=change_set, user=owner)
    assert (result.restored, result.conflicts, _md(a)) == (1, [], {"camera": "cam-0"})


def test_the_item_count_of_batches_counts_each_item_once_across_batches_and_processes(workspace, folder, change_set):
    items = [make_item(folder, f"{n}.jpg") for n in range(4)]
    item_metadata_patch(workspace=workspace, change_set=change_set, merge=True,
                        patches=[_patch(n, it, {"camera": "cam-1"}) for n, it in enumerate(items[:3])])
    batches._local.recorded = None  # a resumed import: another process, nothing in memory
    item_metadata_patch(workspace=workspace, change_set=change_set, merge=True,
                        patches=[_patch(n, it, {"camera": "cam-2"}) for n, it in enumerate(items[1:])])
    item_metadata_patch(workspace=workspace, change_set=change_set, merge=True,
                        patches=[_patch(0, items[0], {"camera": "cam-3"})])
    change_set.refresh_from_db()
    assert (change_set.item_count, change_set.batches.count()) == (4, 3)
    assert [e.previous for e in change_set_entries(change_set)] == [{}] * 4


def test_a_rolled_back_batch_is_not_counted(workspace, folder, change_set):
    from django.db import transaction

    a, b = make_item(folder, "a.jpg"), make_item(folder, "b.jpg")
    item_metadata_patch(workspace=workspace, change_set=change_set, merge=True, patches=[_patch(0, a, {"camera": "x"})])
    with pytest.raises(RuntimeError), transaction.atomic():
        item_metadata_patch(workspace=workspace, change_set=change_set, merge=True,
                            patches=[_patch(1, b, {"camera": "x"})])
        raise RuntimeError
    item_metadata_patch(workspace=workspace, change_set=change_set, merge=True, patches=[_patch(1, b, {"camera": "y"})])
    change_set.refresh_from_db()
    assert (change_set.item_count, change_set.batches.count()) == (2, 2)


def test_a_general_write_into_a_change_set_of_batches_adds_a_batch_and_undo_takes_both_in_order(
    workspace, owner, folder, change_set
):
    a, b = make_item(folder, "a.jpg", metadata={"n": 0}), make_item(folder, "b.jpg", metadata={"n": 0})
    item_metadata_patch(workspace=workspace, change_set=change_set, merge=True,
                        patches=[_patch(0, a, {"n": 1}), _patch(1, b, {"n": 1})])
    item_metadata_write(workspace=workspace, user=owner, updates={a.pk: {"n": 2}}, mode="merge",
                        change_set=change_set)
    change_set.refresh_from_db()
    assert (change_set.item_count, change_set.batches.count(), change_set.entries.count()) == (2, 2, 0)
    assert [e.previous for e in change_set_entries(change_set)] == [{"n": 0}, {"n": 0}]
    result = change_set_undo(change_set=change_set, user=owner)
    assert (result.restored, result.conflicts, _md(a), _md(b)) == (2, [], {"n": 0}, {"n": 0})


def test_a_change_set_begun_with_entries_goes_on_with_entries(workspace, owner, folder, change_set):
    """An import begun by an earlier version (one entry per item) and resumed by this one."""
    a, b = make_item(folder, "a.jpg", metadata={"n": 0}), make_item(folder, "b.jpg", metadata={"n": 0})
    item_metadata_write(workspace=workspace, user=owner, updates={a.pk: {"n": 1}}, mode="merge", change_set=change_set)
    item_metadata_patch(workspace=workspace, change_set=change_set, merge=True,
                        patches=[_patch(0, a, {"n": 2}), _patch(1, b, {"n": 2})])
    change_set.refresh_from_db()
    assert (change_set.item_count, change_set.batches.count(), change_set.entries.count()) == (2, 0, 2)
    result = change_set_undo(change_set=change_set, user=owner)
    assert (result.restored, _md(a), _md(b)) == (2, {"n": 0}, {"n": 0})


def test_undo_of_batches_skips_an_item_deleted_since_and_names_the_newer_change_set(
    workspace, owner, folder, change_set
):
    a, b, c = (make_item(folder, f"{n}.jpg", metadata={"n": 0}) for n in "abc")
    item_metadata_patch(workspace=workspace, change_set=change_set, merge=True,
                        patches=[_patch(n, it, {"n": 1}) for n, it in enumerate((a, b, c))])
    later = ChangeSet.objects.create(workspace=workspace, user=owner, operation="import", source="import")
    item_metadata_patch(workspace=workspace, change_set=later, merge=True, patches=[_patch(0, b, {"n": 2})])
    Item.objects.filter(pk=c.pk).delete()
    result = change_set_undo(change_set=change_set, user=owner)
    assert result.restored == 1 and _md(a) == {"n": 0}
    assert result.conflicts == [{"item": b.pk, "uid": str(b.uid), "newer_change_set": later.pk}]


def test_undo_still_checks_entries_hashed_by_an_earlier_version_with_the_md5_of_the_text(
    workspace, owner, folder, change_set
):
    """Entries of an import recorded before batches (one per item, hashed as `pg:` md5 by an older version)."""
    a = make_item(folder, "a.jpg", metadata={"camera": "cam-1"})
    b = make_item(folder, "b.jpg", metadata={"camera": "cam-1"})
    digest = "pg:" + hashlib.md5(b'{"camera": "cam-1"}').hexdigest()
    for item in (a, b):
        ChangeSetEntry.objects.create(workspace=workspace, change_set=change_set, item=item,
                                      previous={"camera": "cam-0"}, new_hash=digest)
    with connection.cursor() as cursor:
        cursor.execute("SELECT md5(client_metadata::text) FROM items_item WHERE id = %s", [a.pk])
        assert "pg:" + cursor.fetchone()[0] == digest
    b.client_metadata = {"camera": "cam-9"}
    b.save()
    result = change_set_undo(change_set=change_set, user=owner)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.client_metadata, b.client_metadata) == ({"camera": "cam-0"}, {"camera": "cam-9"})
    # b.save() wrote outside any change set, so no newer change set is named.
    assert result.conflicts == [{"item": b.pk, "uid": str(b.uid), "newer_change_set": None}]


def test_undo_restores_a_patched_item_and_leaves_one_changed_since_as_a_conflict(workspace, owner, folder, change_set):
    a = make_item(folder, "a.jpg", metadata={"camera": "cam-0"})
    b = make_item(folder, "b.jpg", metadata={"camera": "cam-0"})
    item_metadata_patch(workspace=workspace, change_set=change_set, merge=True,
                        patches=[_patch(0, a, {"camera": "cam-1"}), _patch(1, b, {"camera": "cam-1"})])
    b.client_metadata = {"camera": "edited later"}
    b.save()
    result = change_set_undo(change_set=change_set, user=owner)
    assert (result.restored, result.conflicts) == (1, [{"item": b.pk, "uid": str(b.uid), "newer_change_set": None}])
    assert (_md(a), _md(b)) == ({"camera": "cam-0"}, {"camera": "edited later"})
