"""Undo restores the embedding vectors a write changed, exactly, as it restores the JSON document: overwritten,
removed (null, or left out by an overwrite) and first-written vectors, by a metadata-rows import and the
services (the API: tests/api/test_change_set_undo_vectors.py); a vector changed again since is a conflict left alone; the undo can itself be undone; the field's
index counts every restored vector as written (its `dirty` count)."""

import pytest

from metadata_site.imports.services import import_task_undo
from metadata_site.items.models import ChangeSet, ChangeSetVector
from metadata_site.items.services import MODE_MERGE, MODE_OVERWRITE, change_set_undo, item_metadata_write
from metadata_site.media import vectors
from metadata_site.media.models import VectorIndex
from tests.imports.helpers import run_import
from tests.items.vector_undo_helpers import make_vector_items, packed, stored_bytes

pytestmark = pytest.mark.django_db



@pytest.fixture
def items(workspace):
    return make_vector_items(workspace)


# Values whose float32 rounding matters: the bytes restored must be the bytes stored, not a re-rounding.
FIRST = [0.1, 1 / 3, -2.7182817, 1e-8]
SECOND = [5.0, 6.0, 7.0, 8.5]


def _write(workspace, user, updates, mode=MODE_MERGE):
    return item_metadata_write(workspace=workspace, user=user, updates=updates, mode=mode)


def test_a_write_that_changes_only_vectors_is_recorded_and_undone(workspace, editor, items):
    a, b, _ = items
    _write(workspace, editor, {a.pk: {"clip": FIRST}})
    result = _write(workspace, editor, {a.pk: {"clip": SECOND}, b.pk: {"clip": None}})  # b had none: unchanged
    assert result.change_set is not None and result.change_set.item_count == 1
    assert ChangeSetVector.objects.filter(change_set=result.change_set).count() == 1
    undo = change_set_undo(change_set=result.change_set, user=editor)
    assert (undo.restored, undo.conflicts, undo.undone) == (1, [], True)
    assert stored_bytes(a) == packed(FIRST) and stored_bytes(b) is None


def test_undo_of_a_first_write_removes_the_vector_and_undo_of_the_undo_puts_it_back(workspace, editor, items):
    a, _, _ = items
    first = _write(workspace, editor, {a.pk: {"clip": FIRST}}).change_set
    undo = change_set_undo(change_set=first, user=editor)
    assert stored_bytes(a) is None
    change_set_undo(change_set=undo.undo_change_set, user=editor)
    assert stored_bytes(a) == packed(FIRST)


def test_null_and_overwrite_removals_are_restored(workspace, editor, items):
    a, b, _ = items
    _write(workspace, editor, {a.pk: {"clip": FIRST}, b.pk: {"clip": SECOND, "dino": FIRST}})
    removed = _write(workspace, editor, {a.pk: {"clip": None}, b.pk: {"weather": "Rain"}}, mode=MODE_OVERWRITE)
    assert stored_bytes(a) is None and stored_bytes(b) is None and stored_bytes(b, "dino") is None
    change_set_undo(change_set=removed.change_set, user=editor)
    assert (stored_bytes(a), stored_bytes(b), stored_bytes(b, "dino")) == (packed(FIRST), packed(SECOND), packed(FIRST))


def test_a_vector_changed_again_since_is_a_conflict_left_alone(workspace, editor, items):
    a, b, _ = items
    _write(workspace, editor, {a.pk: {"clip": FIRST}, b.pk: {"clip": FIRST}})
    change = _write(workspace, editor, {a.pk: {"clip": SECOND}, b.pk: {"clip": SECOND}}).change_set
    newer = _write(workspace, editor, {b.pk: {"clip": [9, 9, 9, 9]}}).change_set
    undo = change_set_undo(change_set=change, user=editor)
    assert undo.conflicts == [{"item": b.pk, "uid": str(b.uid), "newer_change_set": newer.pk}]
    assert undo.undone is False and undo.restored == 1
    assert stored_bytes(a) == packed(FIRST) and stored_bytes(b) == packed([9, 9, 9, 9])
    # Once the newer change is undone, the first undo can finish: b goes back to FIRST.
    change_set_undo(change_set=newer, user=editor)
    again = change_set_undo(change_set=ChangeSet.objects.get(pk=change.pk), user=editor)
    assert again.undone is True and again.already == 1 and stored_bytes(b) == packed(FIRST)


def test_undo_of_an_import_restores_the_vectors_it_overwrote(workspace, owner, items):
    a, b, c = items
    _write(workspace, owner, {a.pk: {"clip": FIRST}, b.pk: {"clip": FIRST}})
    rows = [{"media_id": str(a.uid), "metadata": {"clip": SECOND}},
            {"media_id": str(b.uid), "metadata": {"clip": None}},
            {"media_id": str(c.uid), "metadata": {"clip": SECOND, "weather": "Rain"}}]
    task = run_import(workspace, owner, rows, "rows.json")
    assert (task.status, task.error_count) == ("COMPLETED", 0), task.sample_errors
    assert (stored_bytes(a), stored_bytes(b), stored_bytes(c)) == (packed(SECOND), None, packed(SECOND))
    task = import_task_undo(task=task, user=owner)
    assert task.undone_at is not None
    assert (stored_bytes(a), stored_bytes(b), stored_bytes(c)) == (packed(FIRST), packed(FIRST), None)
    c.refresh_from_db()
    assert c.client_metadata == {"weather": "Sunny"}


def test_the_fields_index_counts_the_restored_vectors_as_written(settings, tmp_path, workspace, editor, items,
                                                                 django_capture_on_commit_callbacks):
    settings.VECTOR_INDEX_DIR = tmp_path
    a, b, c = items
    with django_capture_on_commit_callbacks(execute=True):
        _write(workspace, editor, {a.pk: {"clip": FIRST}, b.pk: {"clip": FIRST}})
    vectors.index_build(workspace_id=workspace.pk, field="clip")
    assert VectorIndex.objects.get(workspace=workspace, field="clip").dirty == 0
    with django_capture_on_commit_callbacks(execute=True):
        change = _write(workspace, editor, {a.pk: {"clip": SECOND}, b.pk: {"clip": None}, c.pk: {"clip": SECOND}})
    assert VectorIndex.objects.get(workspace=workspace, field="clip").dirty == 3
    with django_capture_on_commit_callbacks(execute=True):
        change_set_undo(change_set=change.change_set, user=editor)
    assert VectorIndex.objects.get(workspace=workspace, field="clip").dirty == 6
