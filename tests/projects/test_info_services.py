"""The Info services: versions, revisions, conflicts, silent saves, schema checks and restores."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from metadata_site.projects import services
from metadata_site.projects.models import Dataset, InfoRevision, Project
from metadata_site.projects.services import (
    CustomDataInvalid,
    CustomDataSchemaInvalid,
    InfoConflict,
    InfoError,
    ReadmeInvalid,
    SchemaRejectsExistingData,
    info_restore_revision,
    info_save_custom_data,
    info_save_custom_data_schema,
    info_save_readme,
)
from tests.factories import make_dataset, make_project

LONG_AGO = timezone.now() - timedelta(days=30)


def _long_ago(obj):
    type(obj).objects.filter(pk=obj.pk).update(updated_at=LONG_AGO)
    obj.updated_at = LONG_AGO
    return obj


@pytest.fixture
def project(workspace):
    return _long_ago(make_project(workspace, "Roads", custom_data={"owner": "ml"}, readme="# Roads"))


@pytest.fixture
def dataset(project):
    return _long_ago(make_dataset(project, "train", custom_data={"split": "train"}))


@pytest.fixture(params=["project", "dataset"])
def obj(request, project, dataset):
    return project if request.param == "project" else dataset


def _fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def test_saving_custom_data_bumps_the_version_and_records_a_revision(obj, owner):
    before = obj.custom_data
    revision = info_save_custom_data(obj=obj, data={"owner": "cv"}, user=owner, base_version=1)
    row = _fresh(obj)
    assert row.custom_data == {"owner": "cv"}
    assert row.custom_data_version == 2
    assert row.updated_by == owner
    assert row.updated_at > LONG_AGO
    assert (revision.kind, revision.version, revision.value, revision.previous) == (
        "custom_data",
        2,
        {"owner": "cv"},
        before,
    )
    assert revision.created_by == owner
    assert revision.workspace_id == obj.workspace_id
    assert obj.custom_data_version == 2  # the caller's instance is kept in step


def test_a_save_without_base_version_is_unconditional_but_still_recorded(obj, owner, editor):
    info_save_custom_data(obj=obj, data={"v": 1}, user=owner, base_version=1)
    info_save_custom_data(obj=_fresh(obj), data={"v": 2}, user=editor, base_version=None)
    assert _fresh(obj).custom_data == {"v": 2}
    assert list(obj.revisions.values_list("version", flat=True)) == [3, 2]


def test_a_silent_save_leaves_updated_at_exactly_as_it_was(obj, owner, editor):
    obj.updated_by = editor
    obj.save()
    info_save_custom_data(obj=obj, data={"quiet": True}, user=owner, base_version=None, silent=True)
    row = _fresh(obj)
    assert row.custom_data == {"quiet": True}
    assert row.updated_at == LONG_AGO
    assert row.updated_by == editor
    assert row.revisions.get().created_by == owner


def test_a_save_on_top_of_a_newer_save_is_refused_with_the_newer_value(obj, owner, editor):
    info_save_custom_data(obj=obj, data={"by": "owner"}, user=owner, base_version=1)
    with pytest.raises(InfoConflict) as exc:
        info_save_custom_data(obj=obj, data={"by": "editor"}, user=editor, base_version=1)
    conflict = exc.value
    assert conflict.current_value == {"by": "owner"}
    assert conflict.current_version == 2
    assert conflict.saved_by == owner
    assert conflict.saved_at is not None
    assert conflict.message == services.INFO_CONFLICT.format(what="custom data", current=2, base=1)
    assert _fresh(obj).custom_data == {"by": "owner"}
    assert obj.revisions.count() == 1


def test_a_conflict_on_a_value_older_than_revisions_names_nobody(obj, editor):
    obj.custom_data_version = 5
    obj.save()
    with pytest.raises(InfoConflict) as exc:
        info_save_custom_data(obj=obj, data={}, user=editor, base_version=4)
    assert (exc.value.saved_by, exc.value.saved_at, exc.value.current_version) == (None, None, 5)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1], "The top level must be a JSON object ({...}), not an array."),
        ({"x": float("nan")}, "nan at $.x is not allowed: JSON numbers must be finite."),
        ({"x": "\x00"}, "A string at $.x contains a NUL character (\\u0000), which cannot be stored."),
    ],
)
def test_invalid_custom_data_is_refused_and_nothing_changes(obj, owner, data, message):
    with pytest.raises(CustomDataInvalid) as exc:
        info_save_custom_data(obj=obj, data=data, user=owner, base_version=1)
    assert exc.value.message == message
    row = _fresh(obj)
    assert row.custom_data_version == 1
    assert row.updated_at == LONG_AGO
    assert not InfoRevision.objects.exists()


def test_the_readme_is_saved_with_its_own_version(obj, owner):
    revision = info_save_readme(obj=obj, text="# New", user=owner, base_version=1)
    row = _fresh(obj)
    assert (row.readme, row.readme_version, row.custom_data_version) == ("# New", 2, 1)
    assert (revision.kind, revision.value, revision.previous) == ("readme", "# New", obj.revisions.get().previous)


def test_a_readme_conflict_is_detected(obj, owner, editor):
    info_save_readme(obj=obj, text="one", user=owner, base_version=1)
    with pytest.raises(InfoConflict) as exc:
        info_save_readme(obj=obj, text="two", user=editor, base_version=1)
    assert exc.value.current_value == "one"
    assert exc.value.message.startswith("Someone saved a newer version of this README (version 2)")


def test_a_readme_over_1_mb_is_refused(obj, owner):
    with pytest.raises(ReadmeInvalid) as exc:
        info_save_readme(obj=obj, text="x" * (1_048_576 + 1), user=owner, base_version=None)
    assert exc.value.message == "The README is 1,048,577 bytes; at most 1,048,576 bytes (1 MB) are allowed."
    with pytest.raises(ReadmeInvalid, match="NUL"):
        info_save_readme(obj=obj, text="a\x00b", user=owner, base_version=None)
    assert _fresh(obj).readme_version == 1


SCHEMA = {
    "type": "object",
    "properties": {
        "owner": {"type": "string"},
        "split": {"enum": ["train", "val"]},
        "checked": {"type": "string", "format": "date-time"},
        "stats": {"type": "object", "properties": {"count": {"type": "integer"}}},
    },
}


def test_custom_data_must_satisfy_the_project_schema_and_errors_name_the_path(project, dataset, owner):
    info_save_custom_data_schema(project=project, schema=SCHEMA, user=owner, base_version=1)
    bad = {"split": "test", "stats": {"count": "many"}, "checked": "yesterday"}
    with pytest.raises(CustomDataInvalid) as exc:
        info_save_custom_data(obj=dataset, data=bad, user=owner, base_version=None)
    assert exc.value.message == services.CUSTOM_DATA_FAILS_SCHEMA
    assert [e["loc"] for e in exc.value.errors] == [["checked"], ["split"], ["stats", "count"]]
    assert exc.value.errors[2]["msg"] == "'many' is not of type 'integer'"
    assert _fresh(dataset).custom_data == {"split": "train"}
    info_save_custom_data(
        obj=dataset, data={"split": "val", "checked": "2024-03-15T10:00:00Z"}, user=owner, base_version=None
    )


def test_the_schema_is_versioned_and_can_be_removed(project, owner):
    first = info_save_custom_data_schema(project=project, schema=SCHEMA, user=owner, base_version=1)
    second = info_save_custom_data_schema(project=project, schema=None, user=owner, base_version=2)
    row = _fresh(project)
    assert (row.custom_data_schema, row.custom_data_schema_version) == (None, 3)
    assert (first.previous, first.value, second.value) == (None, SCHEMA, None)
    info_save_custom_data(obj=project, data={"owner": 1}, user=owner, base_version=None)


def test_a_schema_conflict_is_detected(project, owner, editor):
    info_save_custom_data_schema(project=project, schema=SCHEMA, user=owner, base_version=1)
    with pytest.raises(InfoConflict):
        info_save_custom_data_schema(project=project, schema={}, user=editor, base_version=1)


@pytest.mark.parametrize(
    ("schema", "loc", "msg"),
    [
        ({"type": "objekt"}, ["type"], "'objekt' is not valid under any of the given schemas"),
        (
            {"properties": {"a": {"minLength": -1}}},
            ["properties", "a", "minLength"],
            "-1 is less than the minimum of 0",
        ),
    ],
)
def test_a_schema_that_is_not_a_json_schema_is_refused(project, owner, schema, loc, msg):
    with pytest.raises(CustomDataSchemaInvalid) as exc:
        info_save_custom_data_schema(project=project, schema=schema, user=owner, base_version=None)
    assert exc.value.message == services.SCHEMA_NOT_A_SCHEMA
    assert exc.value.errors == [{"loc": loc, "msg": msg}]
    assert _fresh(project).custom_data_schema is None


def test_a_schema_with_an_unresolvable_ref_is_refused_not_crashed(project, owner):
    with pytest.raises(CustomDataSchemaInvalid) as exc:
        info_save_custom_data_schema(
            project=project, schema={"$ref": "https://example.invalid/s.json"}, user=owner, base_version=None
        )
    assert exc.value.message == (
        "The reference 'https://example.invalid/s.json' does not resolve inside this schema: only references within "
        'the schema itself (such as "#/$defs/name") are allowed, and nothing is ever fetched.'
    )


def test_a_schema_that_existing_custom_data_fails_is_refused_with_the_list(project, dataset, owner):
    other = make_dataset(project, "val", custom_data={"split": 3})
    schema = {"properties": {"owner": {"type": "integer"}, "split": {"type": "string"}}}
    with pytest.raises(SchemaRejectsExistingData) as exc:
        info_save_custom_data_schema(project=project, schema=schema, user=owner, base_version=1)
    assert exc.value.message == services.SCHEMA_REJECTS_EXISTING
    assert exc.value.errors == [
        {
            "object": "project",
            "id": project.pk,
            "name": "Roads",
            "loc": ["owner"],
            "msg": "'ml' is not of type 'integer'",
        },
        {"object": "dataset", "id": other.pk, "name": "val", "loc": ["split"], "msg": "3 is not of type 'string'"},
    ]
    row = _fresh(project)
    assert (row.custom_data_schema, row.custom_data_schema_version) == (None, 1)
    assert dataset.custom_data == {"split": "train"}


def test_restoring_a_revision_makes_a_new_revision(obj, owner, editor):
    info_save_custom_data(obj=obj, data={"v": 2}, user=owner, base_version=1)
    info_save_custom_data(obj=obj, data={"v": 3}, user=owner, base_version=2)
    revision = info_restore_revision(obj=obj, kind="custom_data", version=2, user=editor)
    row = _fresh(obj)
    assert (row.custom_data, row.custom_data_version) == ({"v": 2}, 4)
    assert (revision.version, revision.restored_from, revision.previous, revision.created_by) == (
        4,
        2,
        {"v": 3},
        editor,
    )


def test_the_value_before_the_first_revision_can_be_restored(obj, owner):
    original = obj.readme
    info_save_readme(obj=obj, text="changed", user=owner, base_version=1)
    info_restore_revision(obj=obj, kind="readme", version=1, user=owner)
    assert _fresh(obj).readme == original


def test_restoring_a_version_that_does_not_exist_is_refused(obj, owner):
    info_save_readme(obj=obj, text="changed", user=owner, base_version=1)
    for version in (0, 7):
        with pytest.raises(InfoError) as exc:
            info_restore_revision(obj=obj, kind="readme", version=version, user=owner)
        assert exc.value.message == services.NO_SUCH_VERSION.format(version=version, what="README")
    with pytest.raises(InfoError, match="Unknown kind"):
        info_restore_revision(obj=obj, kind="title", version=1, user=owner)


def test_a_restore_must_still_satisfy_the_current_schema(project, owner):
    info_save_custom_data(obj=project, data={"owner": 5}, user=owner, base_version=None)
    info_save_custom_data(obj=project, data={"owner": "cv"}, user=owner, base_version=None)
    info_save_custom_data_schema(project=project, schema=SCHEMA, user=owner, base_version=None)
    with pytest.raises(CustomDataInvalid):
        info_restore_revision(obj=project, kind="custom_data", version=2, user=owner)
    assert _fresh(project).custom_data == {"owner": "cv"}


def test_the_schema_kind_cannot_be_restored_on_a_dataset(dataset, owner):
    with pytest.raises(InfoError) as exc:
        info_restore_revision(obj=dataset, kind="custom_data_schema", version=1, user=owner)
    assert exc.value.message == services.SCHEMA_ONLY_ON_PROJECTS


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_saves_from_the_same_version_never_both_win(workspace, owner, editor):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("an in-memory SQLite test database is not shared between threads")
    project = make_project(workspace, "Race")
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def save(user, value):
        barrier.wait()
        try:
            info_save_custom_data(obj=Project.objects.get(pk=project.pk), data=value, user=user, base_version=1)
            outcomes.append("saved")
        except InfoConflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(u, {"by": u.username})) for u in (owner, editor)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "saved"]
    row = Project.objects.get(pk=project.pk)
    assert row.custom_data_version == 2
    assert row.revisions.get().value == row.custom_data


def test_dataset_and_project_revisions_are_kept_apart(project, dataset, owner):
    info_save_readme(obj=project, text="p", user=owner, base_version=None)
    info_save_readme(obj=dataset, text="d", user=owner, base_version=None)
    assert project.revisions.get().value == "p"
    assert Dataset.objects.get(pk=dataset.pk).revisions.get().value == "d"
