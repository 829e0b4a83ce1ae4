import uuid

import pytest

from metadata_site.items.models import ChangeSet, ChangeSetEntry, Item, ItemKind
from metadata_site.items.services import (
    ITEM_NOT_FOUND,
    WRITE_MODE_UNKNOWN,
    MetadataWriteError,
    item_metadata_write,
    item_metadata_write_by_uid,
    metadata_hash,
)
from metadata_site.items.signals import metadata_written
from metadata_site.schemas.validation import VALUE_KEYFRAMES_NOT_VIDEO, VALUE_NOT_A_NUMBER
from tests.factories import make_folder, make_item, make_schema, make_workspace

FIELDS = [
    {"name": "temperature", "type": "float"},
    {"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]},
    {"name": "captured_at", "type": "datetime"},
]


@pytest.fixture
def folder(workspace):
    make_schema(workspace, FIELDS)
    return make_folder(workspace, "fleet")


def _md(item: Item) -> dict:
    item.refresh_from_db()
    return item.client_metadata


def test_merge_sets_the_given_keys_and_keeps_the_others(workspace, owner, folder):
    item = make_item(folder, metadata={"weather": "Sunny", "camera": "c1"})
    result = item_metadata_write(
        workspace=workspace, user=owner, updates={item.pk: {"temperature": 21.5}}, mode="merge", source="ui"
    )
    assert result.rows == [{"item": item.pk, "uid": str(item.uid), "status": "changed", "errors": []}]
    assert _md(item) == {"weather": "Sunny", "camera": "c1", "temperature": 21.5}


def test_merge_removes_keys_given_as_null(workspace, owner, folder):
    item = make_item(folder, metadata={"weather": "Sunny", "camera": "c1"})
    item_metadata_write(workspace=workspace, user=owner, updates={item.pk: {"camera": None}}, mode="merge")
    assert _md(item) == {"weather": "Sunny"}


def test_overwrite_replaces_the_whole_object(workspace, owner, folder):
    item = make_item(folder, metadata={"weather": "Sunny", "camera": "c1"})
    item_metadata_write(workspace=workspace, user=owner, updates={item.pk: {"temperature": 3}}, mode="overwrite")
    assert _md(item) == {"temperature": 3}


def test_values_are_stored_normalised(workspace, owner, folder):
    item = make_item(folder)
    item_metadata_write(
        workspace=workspace, user=owner, updates={item.pk: {"captured_at": "2024-05-01T14:30:00+02:00"}},
        mode="merge",
    )
    assert _md(item) == {"captured_at": "2024-05-01T12:30:00Z"}


def test_a_row_with_a_bad_value_is_not_written_at_all_but_the_others_are(workspace, owner, folder):
    bad = make_item(folder, metadata={"weather": "Sunny"})
    good = make_item(folder)
    result = item_metadata_write(
        workspace=workspace,
        user=owner,
        updates={bad.pk: {"weather": "Rain", "temperature": "hot"}, good.pk: {"weather": "Rain"}},
        mode="merge",
    )
    assert [r["status"] for r in result.rows] == ["failed", "changed"]
    assert result.rows[0]["errors"] == [
        {"key": "temperature", "msg": VALUE_NOT_A_NUMBER, "expected": "a number", "value": "hot"}
    ]
    assert _md(bad) == {"weather": "Sunny"}
    assert _md(good) == {"weather": "Rain"}
    assert (result.changed, result.unchanged, result.failed) == (1, 0, 1)


def test_rows_that_change_nothing_are_reported_unchanged_and_not_recorded(workspace, owner, folder):
    item = make_item(folder, metadata={"temperature": 3.0})
    result = item_metadata_write(
        workspace=workspace, user=owner, updates={item.pk: {"temperature": 3.0}}, mode="merge"
    )
    assert result.rows[0]["status"] == "unchanged"
    assert result.change_set is None
    assert not ChangeSet.objects.exists()


def test_an_item_of_another_workspace_is_a_failed_row_and_untouched(workspace, owner, folder):
    other = make_item(make_folder(make_workspace("other")), metadata={"a": 1})
    result = item_metadata_write(workspace=workspace, user=owner, updates={other.pk: {"a": 2}}, mode="merge")
    assert result.rows[0]["status"] == "failed"
    assert result.rows[0]["errors"][0]["msg"] == ITEM_NOT_FOUND
    assert _md(other) == {"a": 1}


def test_keyframes_are_refused_on_an_image_and_kept_on_a_video(workspace, owner, folder):
    image = make_item(folder)
    video = make_item(folder, kind=ItemKind.VIDEO)
    result = item_metadata_write(
        workspace=workspace, user=owner, updates={image.pk: {"keyframes": [0, 5]}, video.pk: {"keyframes": [0, 5]}},
        mode="merge",
    )
    assert result.rows[0]["errors"][0]["msg"] == VALUE_KEYFRAMES_NOT_VIDEO
    assert _md(video) == {"keyframes": [0, 5]}


def test_an_unknown_mode_is_refused(workspace, owner, folder):
    with pytest.raises(MetadataWriteError) as exc:
        item_metadata_write(workspace=workspace, user=owner, updates={}, mode="replace")
    assert exc.value.message == WRITE_MODE_UNKNOWN.format(mode="replace")


def test_it_records_a_change_set_with_the_previous_values(workspace, owner, folder):
    a = make_item(folder, metadata={"weather": "Sunny"})
    b = make_item(folder)
    result = item_metadata_write(
        workspace=workspace, user=owner, updates={a.pk: {"weather": "Rain"}, b.pk: {"weather": "Rain"}},
        mode="merge", source="api", description="Rain everywhere", operation="bulk_set",
    )
    cs = result.change_set
    assert (cs.user, cs.source, cs.operation, cs.description, cs.item_count) == (
        owner, "api", "bulk_set", "Rain everywhere", 2
    )
    entries = {e.item_id: e for e in ChangeSetEntry.objects.filter(change_set=cs)}
    assert entries[a.pk].previous == {"weather": "Sunny"}
    assert entries[b.pk].previous == {}
    assert entries[a.pk].new_hash == metadata_hash({"weather": "Rain"})


def test_batches_share_one_change_set_and_keep_the_first_previous_value(workspace, owner, folder):
    item = make_item(folder, metadata={"weather": "Sunny"})
    first = item_metadata_write(
        workspace=workspace, user=owner, updates={item.pk: {"weather": "Rain"}}, mode="merge", source="import:7"
    )
    second = item_metadata_write(
        workspace=workspace, user=owner, updates={item.pk: {"temperature": 4}}, mode="merge",
        source="import:7", change_set=first.change_set,
    )
    assert second.change_set == first.change_set
    entry = ChangeSetEntry.objects.get(change_set=first.change_set)
    assert entry.previous == {"weather": "Sunny"}
    assert entry.new_hash == metadata_hash({"weather": "Rain", "temperature": 4})
    assert second.change_set.item_count == 1


def test_writes_by_uid_report_unknown_uids_in_input_order(workspace, owner, folder):
    item = make_item(folder)
    missing = str(uuid.uuid4())
    result = item_metadata_write_by_uid(
        workspace=workspace, user=owner,
        updates={missing: {"a": 1}, "not-a-uuid": {"a": 1}, str(item.uid): {"a": 1}}, mode="merge",
    )
    assert [(r["uid"], r["status"]) for r in result.rows] == [
        (missing, "failed"), ("not-a-uuid", "failed"), (str(item.uid), "changed")
    ]
    assert _md(item) == {"a": 1}


def test_it_tells_listeners_which_items_changed(workspace, owner, folder):
    a, b = make_item(folder), make_item(folder, metadata={"x": 1})
    seen = []

    def receiver(sender, workspace, item_ids, change_set, **kwargs):
        seen.append(sorted(item_ids))

    metadata_written.connect(receiver)
    try:
        item_metadata_write(workspace=workspace, user=owner, updates={a.pk: {"x": 1}, b.pk: {"x": 1}}, mode="merge")
    finally:
        metadata_written.disconnect(receiver)
    assert seen == [[a.pk]]


def test_the_query_count_does_not_grow_with_the_number_of_items(
    workspace, owner, folder, django_assert_max_num_queries
):
    Item.objects.bulk_create(
        [
            Item(workspace=workspace, folder=folder, title=f"img_{i:05d}.jpg", client_metadata={"weather": "Sunny"})
            for i in range(10_000)
        ]
    )
    ids = list(Item.objects.filter(folder=folder).values_list("id", flat=True))
    updates = {pk: {"weather": "Rain", "temperature": float(n % 40)} for n, pk in enumerate(ids)}
    with django_assert_max_num_queries(12):
        result = item_metadata_write(workspace=workspace, user=owner, updates=updates, mode="merge")
    assert result.changed == 10_000
    assert result.change_set.item_count == 10_000
    assert Item.objects.filter(folder=folder, client_metadata__weather="Rain").count() == 10_000
    with django_assert_max_num_queries(12):
        item_metadata_write(workspace=workspace, user=owner, updates=dict(list(updates.items())[:10]), mode="merge")
