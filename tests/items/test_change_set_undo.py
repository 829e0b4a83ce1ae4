import pytest

from metadata_site.items.models import ChangeSet, Item
from metadata_site.items.services import (
    CHANGE_SET_ALREADY_UNDONE,
    ChangeSetError,
    change_set_undo,
    item_metadata_write,
)
from tests.factories import make_folder, make_item


@pytest.fixture
def folder(workspace):
    return make_folder(workspace, "fleet")


def _md(item: Item) -> dict:
    item.refresh_from_db()
    return item.client_metadata


def test_undo_restores_exactly_the_previous_values(workspace, owner, folder):
    a = make_item(folder, metadata={"weather": "Sunny", "n": 1.5, "nested": {"k": [1, 2]}})
    b = make_item(folder)
    result = item_metadata_write(
        workspace=workspace, user=owner, updates={a.pk: {"weather": "Rain", "n": None}, b.pk: {"weather": "Rain"}},
        mode="merge",
    )
    undo = change_set_undo(change_set=result.change_set, user=owner)
    assert (undo.restored, undo.conflicts) == (2, [])
    assert _md(a) == {"weather": "Sunny", "n": 1.5, "nested": {"k": [1, 2]}}
    assert _md(b) == {}
    result.change_set.refresh_from_db()
    assert result.change_set.undone_by == owner and result.change_set.undone_at is not None


def test_undo_of_an_overwrite_restores_the_keys_it_dropped(workspace, owner, folder):
    item = make_item(folder, metadata={"a": 1, "b": "x"})
    result = item_metadata_write(workspace=workspace, user=owner, updates={item.pk: {"c": True}}, mode="overwrite")
    change_set_undo(change_set=result.change_set, user=owner)
    assert _md(item) == {"a": 1, "b": "x"}


def test_items_changed_again_since_are_conflicts_and_left_alone(workspace, owner, editor, folder):
    a = make_item(folder, metadata={"weather": "Sunny"})
    b = make_item(folder, metadata={"weather": "Sunny"})
    first = item_metadata_write(
        workspace=workspace, user=owner, updates={a.pk: {"weather": "Rain"}, b.pk: {"weather": "Rain"}}, mode="merge"
    )
    newer = item_metadata_write(workspace=workspace, user=editor, updates={b.pk: {"weather": "Fog"}}, mode="merge")
    undo = change_set_undo(change_set=first.change_set, user=owner)
    assert undo.restored == 1
    assert undo.conflicts == [{"item": b.pk, "uid": str(b.uid), "newer_change_set": newer.change_set.pk}]
    assert _md(a) == {"weather": "Sunny"}
    assert _md(b) == {"weather": "Fog"}
    assert not undo.undone and first.change_set.undone_at is None


def test_an_undo_that_restores_nothing_leaves_the_change_set_undoable(workspace, owner, editor, folder):
    a = make_item(folder, metadata={"weather": "Sunny"})
    first = item_metadata_write(workspace=workspace, user=owner, updates={a.pk: {"weather": "Rain"}}, mode="merge")
    newer = item_metadata_write(workspace=workspace, user=editor, updates={a.pk: {"weather": "Fog"}}, mode="merge")
    undo = change_set_undo(change_set=first.change_set, user=owner)
    assert (undo.restored, undo.undone, undo.undo_change_set) == (0, False, None)
    first.change_set.refresh_from_db()
    assert first.change_set.undone_at is None
    change_set_undo(change_set=newer.change_set, user=owner)
    again = change_set_undo(change_set=first.change_set, user=owner)
    assert (again.restored, again.conflicts, again.undone) == (1, [], True)
    assert _md(a) == {"weather": "Sunny"}


def test_a_second_undo_counts_items_an_earlier_partial_undo_restored(workspace, owner, editor, folder):
    a = make_item(folder, metadata={"weather": "Sunny"})
    b = make_item(folder, metadata={"weather": "Sunny"})
    first = item_metadata_write(
        workspace=workspace, user=owner, updates={a.pk: {"weather": "Rain"}, b.pk: {"weather": "Rain"}}, mode="merge"
    )
    newer = item_metadata_write(workspace=workspace, user=editor, updates={b.pk: {"weather": "Fog"}}, mode="merge")
    assert change_set_undo(change_set=first.change_set, user=owner).restored == 1
    change_set_undo(change_set=newer.change_set, user=owner)
    again = change_set_undo(change_set=first.change_set, user=owner)
    assert (again.restored, again.already, again.conflicts, again.undone) == (1, 1, [], True)
    assert (_md(a), _md(b)) == ({"weather": "Sunny"}, {"weather": "Sunny"})


def test_the_undo_is_itself_a_change_set_that_can_be_undone(workspace, owner, folder):
    item = make_item(folder, metadata={"weather": "Sunny"})
    first = item_metadata_write(workspace=workspace, user=owner, updates={item.pk: {"weather": "Rain"}}, mode="merge")
    undo = change_set_undo(change_set=first.change_set, user=owner)
    assert undo.undo_change_set.operation == "undo"
    assert undo.undo_change_set.undo_of == first.change_set
    change_set_undo(change_set=undo.undo_change_set, user=owner)
    assert _md(item) == {"weather": "Rain"}


def test_a_change_set_is_undone_only_once(workspace, owner, folder):
    item = make_item(folder, metadata={"weather": "Sunny"})
    first = item_metadata_write(workspace=workspace, user=owner, updates={item.pk: {"weather": "Rain"}}, mode="merge")
    change_set_undo(change_set=first.change_set, user=owner)
    with pytest.raises(ChangeSetError) as exc:
        change_set_undo(change_set=first.change_set, user=owner)
    assert exc.value.message == CHANGE_SET_ALREADY_UNDONE


def test_an_import_in_batches_is_undone_as_one(workspace, owner, folder):
    items = [make_item(folder, metadata={"i": n}) for n in range(6)]
    change_set = None
    for batch in (items[:3], items[3:], items[:2]):
        result = item_metadata_write(
            workspace=workspace, user=owner, updates={i.pk: {"tag": f"b{len(batch)}"} for i in batch},
            mode="merge", source="import:1", change_set=change_set,
        )
        change_set = result.change_set
    assert ChangeSet.objects.count() == 1
    assert change_set.item_count == 6
    undo = change_set_undo(change_set=change_set, user=owner)
    assert undo.restored == 6
    assert [_md(i) for i in items] == [{"i": n} for n in range(6)]


def test_undo_works_in_pages_larger_than_one_batch(workspace, owner, folder, monkeypatch):
    monkeypatch.setattr("metadata_site.items.services.undo.UNDO_BATCH_SIZE", 2)
    items = [make_item(folder, metadata={"i": n}) for n in range(5)]
    result = item_metadata_write(
        workspace=workspace, user=owner, updates={i.pk: {"i": None} for i in items}, mode="merge"
    )
    assert change_set_undo(change_set=result.change_set, user=owner).restored == 5
    assert [_md(i) for i in items] == [{"i": n} for n in range(5)]
