"""Renaming a declared field: the schema at once, the values in a background task by batches, saved filters
follow, and one change set whose undo moves the values back and renames the field back."""

import pytest
from django.urls import reverse

from metadata_site.collections.models import Collection
from metadata_site.collections.selectors import collection_items
from metadata_site.explorer import query as fl
from metadata_site.items.models import ChangeSet, Item
from metadata_site.items.services import ChangeSetError, change_set_undo
from metadata_site.schemas import services
from metadata_site.schemas.models import FieldRename, FieldRenameStatus
from metadata_site.schemas.selectors import schema_current
from metadata_site.schemas.services import SchemaError, field_rename_run, schema_rename_field
from tests.factories import make_folder, make_item, make_schema

DUMMY = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
FIELDS = [{"name": "temp", "type": "float"}, {"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]}]


@pytest.fixture
def items(workspace):
    make_schema(workspace, FIELDS)
    folder = make_folder(workspace)
    return [
        make_item(folder, f"i{n}.jpg", metadata={"temp": float(n), "weather": "Sunny"} if n != 3 else {"weather": "Rain"})
        for n in range(7)
    ]


def md(item):
    item.refresh_from_db()
    return item.client_metadata


def test_it_renames_the_field_and_moves_every_value_in_one_change_set(workspace, owner, items, monkeypatch):
    monkeypatch.setattr(services, "RENAME_BATCH_SIZE", 2)
    rename = schema_rename_field(workspace=workspace, user=owner, name="temp", new_name="temperature")
    rename.refresh_from_db()
    assert (rename.status, rename.total, rename.done) == (FieldRenameStatus.COMPLETED, 6, 6)
    schema = schema_current(workspace=workspace)
    assert [s.name for s in schema] == ["temperature", "weather"] and schema.get("temperature").type == "float"
    assert md(items[2]) == {"temperature": 2.0, "weather": "Sunny"}
    assert md(items[3]) == {"weather": "Rain"}
    assert rename.change_set.item_count == 6 and rename.change_set.operation == "rename"
    query = fl.parse_query_string({"f": ["temperature:gt:4"]}, schema=schema)
    assert fl.items_matching(query, schema=schema, workspace=workspace).count() == 2


def test_a_restarted_rename_goes_on_from_its_last_committed_batch(workspace, owner, items, monkeypatch, settings):
    """A worker killed after the first batch: the row still says RUNNING with its restart point; running the task
    again moves the rest, none twice."""
    monkeypatch.setattr(services, "RENAME_BATCH_SIZE", 2)
    settings.TASKS = DUMMY  # queued, the worker never ran it
    rename = schema_rename_field(workspace=workspace, user=owner, name="temp", new_name="temperature")
    real_rename_key = services.item_metadata_rename_key
    calls = []

    def crash_after_one_batch(**kw):
        if calls:
            raise KeyboardInterrupt  # the worker dies
        calls.append(1)
        return real_rename_key(**kw)

    monkeypatch.setattr(services, "item_metadata_rename_key", crash_after_one_batch)
    with pytest.raises(KeyboardInterrupt):
        field_rename_run(rename=rename)
    rename.refresh_from_db()
    assert (rename.status, rename.done, rename.last_id) == (FieldRenameStatus.RUNNING, 2, items[1].pk)
    monkeypatch.setattr(services, "item_metadata_rename_key", real_rename_key)
    rename = field_rename_run(rename=rename)
    assert (rename.status, rename.done) == (FieldRenameStatus.COMPLETED, 6)
    assert [md(i).get("temperature") for i in items] == [0.0, 1.0, 2.0, None, 4.0, 5.0, 6.0]
    assert not any("temp" in md(i) for i in items)


def test_undo_moves_the_values_back_and_renames_the_field_back(workspace, owner, items):
    rename = schema_rename_field(workspace=workspace, user=owner, name="temp", new_name="temperature")
    result = change_set_undo(change_set=ChangeSet.objects.get(pk=rename.change_set_id), user=owner)
    assert result.restored == 6 and not result.conflicts
    assert [s.name for s in schema_current(workspace=workspace)] == ["temp", "weather"]
    assert md(items[5]) == {"temp": 5.0, "weather": "Sunny"}


def test_saved_filters_follow_the_new_name_and_back(workspace, owner, items):
    live = Collection.objects.create(workspace=workspace, title="warm", kind="live",
                                     filter={"all": [{"field": "temp", "op": "gt", "value": 4}], "sort": "-temp"})
    rename = schema_rename_field(workspace=workspace, user=owner, name="temp", new_name="temperature")
    live.refresh_from_db()
    assert live.filter == {"all": [{"field": "temperature", "op": "gt", "value": 4}], "sort": "-temperature"}
    assert collection_items(live).count() == 2
    change_set_undo(change_set=ChangeSet.objects.get(pk=rename.change_set_id), user=owner)
    live.refresh_from_db()
    assert live.filter["all"][0]["field"] == "temp" and live.filter["sort"] == "-temp"


@pytest.mark.parametrize(("name", "new_name", "message"), [
    ("nope", "x", "No field named 'nope' is declared."),
    ("temp", "weather", "A field named 'weather' is already declared."),
    ("temp", "temp", "The new name is the field's name already."),
    ("temp", "$x", "The field name '$x' must not start with '$'."),
])
def test_bad_renames_are_refused_and_change_nothing(workspace, owner, items, name, new_name, message):
    with pytest.raises(SchemaError, match=message.replace("$", r"\$")):
        schema_rename_field(workspace=workspace, user=owner, name=name, new_name=new_name)
    assert schema_current(workspace=workspace).version == 1
    assert not FieldRename.objects.exists() and not ChangeSet.objects.exists()


def test_a_rename_still_running_cannot_be_undone_nor_start_another(workspace, owner, items, settings):
    settings.TASKS = DUMMY  # queued, not run
    rename = schema_rename_field(workspace=workspace, user=owner, name="temp", new_name="temperature")
    with pytest.raises(SchemaError, match="is being renamed"):
        schema_rename_field(workspace=workspace, user=owner, name="weather", new_name="sky")
    with pytest.raises(ChangeSetError, match="still moving values"):
        change_set_undo(change_set=ChangeSet.objects.get(pk=rename.change_set_id), user=owner)
    assert ChangeSet.objects.get(pk=rename.change_set_id).undone_at is None


def rename_url(workspace):
    return reverse("schemas:rename", args=[workspace.slug])


def test_the_page_starts_a_rename_and_shows_its_progress(login, workspace, owner, items):
    client = login(owner)
    assert 'name="new_name"' in client.get(rename_url(workspace), {"field": "temp"}).content.decode()
    response = client.post(rename_url(workspace), {"field": "temp", "new_name": "temperature"})
    rename = FieldRename.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("schemas:rename-status", args=[workspace.slug, rename.pk])
    body = client.get(response["Location"]).content.decode()
    assert "Completed" in body and "6 of 6 items moved" in body
    fragment = client.get(response["Location"], headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment and 'id="progress"' in fragment
    assert Item.objects.filter(client_metadata__has_key="temperature").count() == 6


def test_a_bad_new_name_is_a_400_naming_the_problem(login, workspace, owner, items):
    response = login(owner).post(rename_url(workspace), {"field": "temp", "new_name": "weather"})
    assert response.status_code == 400
    assert "A field named &#x27;weather&#x27; is already declared." in response.content.decode()


def test_owner_renames_a_member_gets_403_and_a_stranger_404(login, workspace, owner, member, stranger, items):
    assert login(owner).get(rename_url(workspace), {"field": "temp"}).status_code == 200
    assert login(member).post(rename_url(workspace), {"field": "temp", "new_name": "t2"}).status_code == 403
    assert login(stranger).post(rename_url(workspace), {"field": "temp", "new_name": "t2"}).status_code == 404
    assert schema_current(workspace=workspace).get("temp") is not None


def test_the_projection_follows_the_values_as_batches_move_them(workspace, owner, items, settings, monkeypatch):
    """PostgreSQL: the typed projection rebuilt for the renamed schema (as schema_changed has it done) while the
    values are still under the old key, then kept in step by its triggers as each batch moves them."""
    from django.db import connection

    from metadata_site.explorer import projection

    if connection.vendor != "postgresql":
        pytest.skip("the typed projection is PostgreSQL's")
    settings.TASKS = DUMMY
    monkeypatch.setattr(services, "RENAME_BATCH_SIZE", 2)
    rename = schema_rename_field(workspace=workspace, user=owner, name="temp", new_name="temperature")
    schema = schema_current(workspace=workspace)
    projection.build(workspace_id=workspace.pk, schema=schema)
    query = fl.parse_query_string({"f": ["temperature:gt:4"]}, schema=schema)
    assert projection.ProjectionCompiler.for_workspace(workspace, schema).count(query) == 0
    field_rename_run(rename=rename)
    assert projection.ProjectionCompiler.for_workspace(workspace, schema).count(query) == 2


def test_resume_renames_queues_a_rename_whose_worker_died_and_it_completes(workspace, owner, items, settings):
    from django.core.management import call_command

    settings.TASKS = DUMMY
    rename = schema_rename_field(workspace=workspace, user=owner, name="temp", new_name="temperature")
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
    call_command("resume_renames", "--grace", "0", verbosity=0)
    rename.refresh_from_db()
    assert (rename.status, rename.done) == (FieldRenameStatus.COMPLETED, 6)
