"""The import pipeline end to end through its services (the worker runs immediately in tests)."""

import json

import pytest
from django.db import connection

from metadata_site.explorer import indexes
from metadata_site.explorer.indexes import (
    missing_field_indexes,
    should_suspend,
    suspend_field_indexes,
)
from metadata_site.explorer.tasks import build_field_indexes
from metadata_site.imports import kinds, services
from metadata_site.imports.models import ImportStatus
from metadata_site.imports.services import (
    ImportTaskError,
    import_task_apply,
    import_task_cancel,
    import_task_create,
    import_task_resume,
    import_task_undo,
    import_task_upload,
)
from metadata_site.items.models import Item, ItemKind
from metadata_site.items.services import change_set_entries, change_set_undo, item_metadata_write
from metadata_site.projects.models import DatasetStatus
from metadata_site.schemas.selectors import schema_current

from ..factories import make_dataset, make_folder, make_item, make_project
from .helpers import corpus_schema, run_import


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def folder(workspace):
    corpus_schema(workspace)
    return make_folder(workspace, "cams")


@pytest.fixture
def items(folder):
    return [
        make_item(folder, "a.jpg", metadata={"camera": "cam-1", "weather": "Fog"}),
        make_item(folder, "b.jpg", metadata={"camera": "cam-2"}),
        make_item(folder, "c.jpg"),
    ]


def _md(item):
    item.refresh_from_db()
    return item.client_metadata


# --- metadata rows: each format and mode -------------------------------------------------------------


def test_it_merges_a_json_array_matched_by_media_id_and_title(workspace, owner, folder, items):
    a, b, _ = items
    rows = [{"media_id": str(a.uid), "metadata": {"weather": "Sunny", "camera": None}},
            {"title": "b.jpg", "metadata": {"temperature": 21.5}}]
    task = run_import(workspace, owner, rows, "rows.json", target={"folder": folder.pk})
    assert (task.status, task.updated_rows, task.error_count, task.progress) == ("COMPLETED", 2, 0, 100)
    assert _md(a) == {"weather": "Sunny"}
    assert _md(b) == {"camera": "cam-2", "temperature": 21.5}


def test_it_overwrites_from_an_object_keyed_by_uid(workspace, owner, folder, items):
    a, b, _ = items
    task = run_import(workspace, owner, {str(a.uid): {"dark": True}, str(b.uid): {}}, "rows.json", mode="overwrite")
    assert (task.status, task.updated_rows) == ("COMPLETED", 2)
    assert _md(a) == {"dark": True}
    assert _md(b) == {}


def test_it_imports_jsonl_in_merge_mode(workspace, owner, folder, items):
    a, b, c = items
    lines = "\n".join(json.dumps({"media_id": str(i.uid), "metadata": {"colors": ["red"]}}) for i in items)
    task = run_import(workspace, owner, lines + "\n", "rows.jsonl")
    assert (task.status, task.updated_rows) == ("COMPLETED", 3)
    assert _md(a) == {"camera": "cam-1", "weather": "Fog", "colors": ["red"]}
    assert _md(c) == {"colors": ["red"]}


def test_it_parses_csv_cells_by_field_type(workspace, owner, folder, items):
    a, b, _ = items
    content = (
        "title,weather,temperature,colors,dark,captured_at,url\n"
        "a.jpg,Rain,-3.25,red|blue,yes,2024-05-01T12:30:00+02:00,http://ignored\n"
        "b.jpg,,7,,false,,\n"
    )
    task = run_import(workspace, owner, content, "rows.csv", target={"folder": folder.pk}, mode="overwrite")
    assert (task.status, task.updated_rows, task.error_count) == ("COMPLETED", 2, 0)
    assert _md(a) == {"weather": "Rain", "temperature": -3.25, "colors": ["red", "blue"], "dark": True,
                      "captured_at": "2024-05-01T10:30:00Z"}
    assert _md(b) == {"temperature": 7.0, "dark": False}


@pytest.mark.parametrize("name", ["rows.csv", "rows.json"])
def test_a_date_without_a_time_is_imported_as_midnight_utc(workspace, owner, folder, items, name):
    a, b, _ = items
    if name.endswith(".csv"):
        content = "title,captured_at\na.jpg,2024-02-24\nb.jpg,2024-02-30\n"
    else:
        content = [{"title": "a.jpg", "metadata": {"captured_at": "2024-02-24"}},
                   {"title": "b.jpg", "metadata": {"captured_at": "2024-02-30"}}]
    task = run_import(workspace, owner, content, name, target={"folder": folder.pk})
    assert (task.updated_rows, task.error_count) == (1, 1)
    assert _md(a)["captured_at"] == "2024-02-24T00:00:00Z"
    assert "captured_at" not in _md(b)


def test_it_matches_titles_within_a_dataset(workspace, owner, folder, items):
    a, b, _ = items
    other = make_item(make_folder(workspace, "other"), "a.jpg")
    dataset = make_dataset(make_project(workspace), items=[a])
    task = run_import(workspace, owner, [{"title": "a.jpg", "metadata": {"dark": True}},
                                         {"title": "b.jpg", "metadata": {"dark": True}}],
                      "rows.json", target={"dataset": dataset.pk})
    assert task.sample_errors == [{"reason": f"No item titled 'b.jpg' in the dataset '{dataset.name}'.", "row_index": 1}]
    assert _md(a)["dark"] is True
    assert _md(other) == {}


# --- row errors with exact messages ------------------------------------------------------------------


def test_it_reports_each_bad_row_with_its_reason_and_index(workspace, owner, folder, items):
    a, b, c = items
    make_item(folder, "twin.jpg")
    make_item(folder, "twin.jpg")
    rows = [
        {"media_id": str(a.uid), "metadata": {"temperature": "hot"}},
        {"media_id": "not-a-uuid", "metadata": {}},
        {"media_id": "00000000-0000-4000-8000-000000000000", "metadata": {}},
        {"title": "twin.jpg", "metadata": {}},
        {"metadata": {}},
        ["not", "an", "object"],
        {"media_id": str(b.uid), "metadata": [1]},
        {"media_id": str(c.uid), "metadata": {"weather": "Sunny"}},
    ]
    task = run_import(workspace, owner, rows, "rows.json", target={"folder": folder.pk})
    assert task.status == ImportStatus.COMPLETED_WITH_ERRORS
    assert (task.updated_rows, task.error_count) == (1, 7)
    assert task.sample_errors == [
        {"reason": 'temperature: Expected a number. Got "hot".', "row_index": 0},
        {"reason": "The media_id 'not-a-uuid' is not a valid id.", "row_index": 1},
        {"reason": "No item with the media_id 00000000-0000-4000-8000-000000000000 in the folder 'cams'.",
         "row_index": 2},
        {"reason": "2 items are titled 'twin.jpg' in the folder 'cams'; use the media_id.", "row_index": 3},
        {"reason": "The row has neither a media_id nor a title.", "row_index": 4},
        {"reason": "Expected a JSON object, got an array.", "row_index": 5},
        {"reason": "metadata must be a JSON object, got an array.", "row_index": 6},
    ]
    assert _md(a) == {"camera": "cam-1", "weather": "Fog"}
    assert _md(c) == {"weather": "Sunny"}


def test_it_writes_the_full_error_report_as_csv(workspace, owner, folder, items):
    rows = [{"media_id": "x", "metadata": {}}] * 150
    task = run_import(workspace, owner, rows, "rows.json")
    assert task.error_count == 150 and len(task.sample_errors) == 100
    report = services.error_report_path(task).read_text().splitlines()
    assert report[0] == "row_index,reason,row"
    assert report[1] == '0,The media_id \'x\' is not a valid id.,"{""media_id"": ""x"", ""metadata"": {}}"'
    assert len(report) == 151


def test_it_refuses_title_matching_without_a_folder_or_dataset(workspace, owner, folder, items):
    task = run_import(workspace, owner, [{"title": "a.jpg", "metadata": {}}], "rows.json")
    assert task.sample_errors == [{"reason": "Matching by title needs a folder or a dataset to look in.", "row_index": 0}]


# --- file errors: the task fails with one reason and nothing changes ---------------------------------


@pytest.mark.parametrize(
    "content, name, kind, reason",
    [
        ('[{"title": "a.jpg", "metadata": {"dark": true}}, {"title": "b.jpg"', "rows.json", "metadata_rows",
         "Invalid JSON at line 1, column 67: Expecting ',' delimiter."),
        ('"rows"', "rows.json", "metadata_rows", "The file's top level must be an array or an object, not a string."),
        (b"title,dark\nc\xe9.jpg,true\n", "rows.csv", "metadata_rows",
         "The file is not valid UTF-8 (at byte 12); save it as UTF-8 and upload it again."),
        ("name,dark\na.jpg,true\n", "rows.csv", "metadata_rows", "The CSV file has no media_id or title column."),
        ("title,darkness\na.jpg,true\n", "rows.csv", "metadata_rows",
         "The CSV column 'darkness' is not a declared field; declare it first or remove the column."),
        ("id,value\nx,1\n", "values.csv", "field_values", "The CSV file needs the columns media_id and value, found id, value."),
        ('{"images": [], "audio": []}', "data.json", "data",
         "Unknown top-level key 'audio': expected 'images', 'videos', 'image_groups'."),
        ("title,dark\na.jpg,true\n", "data.csv", "data", "The CSV file needs a url column."),
    ],
)
def test_it_fails_a_broken_file_and_changes_nothing(workspace, owner, folder, items, content, name, kind, reason):
    target = {"folder": folder.pk, **({"field": "dark"} if kind == "field_values" else {})}
    task = run_import(workspace, owner, content, name, kind=kind, target=target)
    assert (task.status, task.failure_reason) == (ImportStatus.FAILED, reason)
    assert _md(items[0]) == {"camera": "cam-1", "weather": "Fog"}
    assert Item.objects.count() == 3


def test_it_refuses_a_file_over_the_size_limit(workspace, owner, folder, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 10
    task = import_task_create(workspace=workspace, user=owner, kind="metadata_rows")
    with pytest.raises(ImportTaskError) as exc:
        import_task_upload(task=task, name="rows.json", chunks=[b"[1,2,3,", b"4,5,6]"])
    assert exc.value.message == "The file is larger than the limit of 10 bytes."
    task.refresh_from_db()
    assert (task.status, task.file_path) == (ImportStatus.INIT, "")


def test_it_refuses_imports_into_a_dataset_that_is_importing(workspace, owner, folder):
    dataset = make_dataset(make_project(workspace), name="incoming", status=DatasetStatus.IMPORTING)
    with pytest.raises(ImportTaskError) as exc:
        import_task_create(workspace=workspace, user=owner, kind="metadata_rows", target={"dataset": dataset.pk})
    assert exc.value.message == "The dataset 'incoming' is being imported; wait until it is ready before importing into it."


@pytest.mark.parametrize(
    "kind, target, message",
    [
        ("data", {}, "A data import creates items in a folder: choose one."),
        ("field_values", {}, "Choose the field the values are for."),
        ("field_values", {"field": "nope"}, "No field named 'nope' is declared in the schema."),
        ("metadata_rows", {"folder": 999999}, "No folder 999999 in this workspace."),
        ("songs", {}, "Unknown import kind 'songs'."),
    ],
)
def test_it_refuses_a_bad_target(workspace, owner, folder, kind, target, message):
    with pytest.raises(ImportTaskError) as exc:
        import_task_create(workspace=workspace, user=owner, kind=kind, target=target)
    assert exc.value.message == message


def test_it_refuses_a_folder_of_another_workspace(workspace, owner, stranger):
    other = make_folder(stranger.memberships.get().workspace, "theirs")
    with pytest.raises(ImportTaskError):
        import_task_create(workspace=workspace, user=owner, kind="data", target={"folder": other.pk})


# --- dry run and apply policies ----------------------------------------------------------------------


def test_a_dry_run_counts_rows_and_errors_and_writes_nothing(workspace, owner, folder, items):
    a, b, _ = items
    rows = [{"media_id": str(a.uid), "metadata": {"dark": True}}, {"media_id": str(b.uid), "metadata": {"dark": 3}}]
    task = run_import(workspace, owner, rows, "rows.json", dry_run=True)
    assert (task.status, task.total, task.valid_rows, task.error_count) == ("VALIDATED", 2, 1, 1)
    assert task.sample_errors == [{"reason": "dark: Expected true or false. Got 3.", "row_index": 1}]
    assert "dark" not in _md(a)
    assert task.change_set_id is None


def test_applying_a_dry_run_skipping_bad_rows_writes_the_good_ones(workspace, owner, folder, items):
    a, b, _ = items
    rows = [{"media_id": str(a.uid), "metadata": {"dark": True}}, {"media_id": str(b.uid), "metadata": {"dark": 3}}]
    task = run_import(workspace, owner, rows, "rows.json", dry_run=True)
    task = import_task_apply(task=task, user=owner, policy="skip_bad_rows")
    assert (task.status, task.updated_rows, task.error_count) == ("COMPLETED_WITH_ERRORS", 1, 1)
    assert _md(a)["dark"] is True


def test_apply_only_if_no_errors_refuses_a_file_with_errors(workspace, owner, folder, items):
    a, b, _ = items
    rows = [{"media_id": str(a.uid), "metadata": {"dark": True}}, {"media_id": str(b.uid), "metadata": {"dark": 3}}]
    task = run_import(workspace, owner, rows, "rows.json", dry_run=True)
    with pytest.raises(ImportTaskError) as exc:
        import_task_apply(task=task, user=owner, policy="only_if_no_errors")
    assert exc.value.message == "1 rows have errors, so nothing was applied (policy: apply only if there are no errors)."
    auto = run_import(workspace, owner, rows, "rows.json", policy="only_if_no_errors")
    assert (auto.status, auto.failure_reason) == ("FAILED", exc.value.message)
    assert "dark" not in _md(a)


def test_apply_only_if_no_errors_applies_a_clean_file(workspace, owner, folder, items):
    a = items[0]
    task = run_import(workspace, owner, [{"media_id": str(a.uid), "metadata": {"dark": True}}], "rows.json",
                      policy="only_if_no_errors")
    assert (task.status, task.updated_rows) == ("COMPLETED", 1)


# --- field values (the Visual Layer shape) -----------------------------------------------------------


def test_it_imports_field_values_from_json_and_csv(workspace, owner, folder, items):
    a, b, c = items
    rows = [{"media_id": str(a.uid), "value": ["red", "blue"]}, {"media_id": str(b.uid), "value": ["orange"]}]
    task = run_import(workspace, owner, rows, "values.json", kind="field_values", target={"field": "colors"})
    assert (task.status, task.updated_rows, task.error_count) == ("COMPLETED_WITH_ERRORS", 1, 1)
    assert task.sample_errors[0]["row_index"] == 1
    assert task.sample_errors[0]["reason"].startswith("colors: ")
    assert _md(a) == {"camera": "cam-1", "weather": "Fog", "colors": ["red", "blue"]}
    csv_task = run_import(workspace, owner, f"media_id,value\n{c.uid},12.5\n{b.uid},warm\n", "values.csv",
                          kind="field_values", target={"field": "temperature"})
    assert csv_task.sample_errors == [{"reason": 'temperature: Expected a number. Got "warm".', "row_index": 1}]
    assert _md(c) == {"temperature": 12.5}


# --- data import ----------------------------------------------------------------------------------------

SPEC = {
    "images": [{"objectUrl": "https://cdn.example.com/a/1.jpg", "clientMetadata": {"weather": "Rain"}},
               {"objectUrl": "https://cdn.example.com/a/2.jpg", "title": "two.jpg"}],
    "videos": [{"objectUrl": "https://cdn.example.com/v.mp4", "title": "v.mp4", "keyframes": [0, 12],
                "clientMetadata": {"dark": True}}],
    "image_groups": [{"title": "group", "clientMetadata": {"camera": "cam-9"},
                      "images": [{"objectUrl": "https://cdn.example.com/g/0.jpg", "clientMetadata": {"dark": False}},
                                 {"objectUrl": "https://cdn.example.com/g/1.jpg"}]}],
}


def _tree(folder):
    return sorted(
        (i.title, i.kind, i.parent.title if i.parent else None, i.frame_index, i.media_url, i.client_metadata)
        for i in Item.objects.filter(folder=folder).select_related("parent")
    )


def test_a_data_import_creates_images_videos_and_groups_with_frames(workspace, owner):
    corpus_schema(workspace)
    folder = make_folder(workspace, "new")
    task = run_import(workspace, owner, SPEC, "spec.json", kind="data", target={"folder": folder.pk})
    assert (task.status, task.inserted_rows, task.error_count) == ("COMPLETED", 4, 0)
    assert _tree(folder) == [
        ("1.jpg", ItemKind.IMAGE, None, None, "https://cdn.example.com/a/1.jpg", {"weather": "Rain"}),
        ("group", ItemKind.IMAGE_GROUP, None, None, "", {"camera": "cam-9"}),
        ("group #0", ItemKind.FRAME, "group", 0, "https://cdn.example.com/g/0.jpg", {"dark": False}),
        ("group #1", ItemKind.FRAME, "group", 1, "https://cdn.example.com/g/1.jpg", {}),
        ("two.jpg", ItemKind.IMAGE, None, None, "https://cdn.example.com/a/2.jpg", {}),
        ("v.mp4", ItemKind.VIDEO, None, None, "https://cdn.example.com/v.mp4", {"dark": True, "keyframes": [0, 12]}),
        # the video's keyframes are items of kind frame under it
        ("v.mp4 · frame 0", ItemKind.FRAME, "v.mp4", 0, "", {}),
        ("v.mp4 · frame 12", ItemKind.FRAME, "v.mp4", 12, "", {}),
    ]


def test_reimporting_a_spec_does_not_duplicate_items(workspace, owner):
    corpus_schema(workspace)
    folder = make_folder(workspace, "new")
    run_import(workspace, owner, SPEC, "spec.json", kind="data", target={"folder": folder.pk})
    first = _tree(folder)
    again = run_import(workspace, owner, SPEC, "spec.json", kind="data", target={"folder": folder.pk})
    assert (again.status, again.inserted_rows, again.updated_rows) == ("COMPLETED", 0, 0)
    assert _tree(folder) == first


def test_a_data_import_reads_csv_and_reports_bad_rows(workspace, owner):
    corpus_schema(workspace)
    folder = make_folder(workspace, "new")
    content = "url,title,weather,temperature\nhttps://x.example/1.jpg,one.jpg,Sunny,3\nftp://x/2.jpg,,Rain,\nhttps://x.example/3.jpg,,Hail,\n"
    task = run_import(workspace, owner, content, "data.csv", kind="data", target={"folder": folder.pk})
    assert (task.status, task.inserted_rows) == ("COMPLETED_WITH_ERRORS", 1)
    assert task.sample_errors == [
        {"reason": "The objectUrl 'ftp://x/2.jpg' is not an http or https URL.", "row_index": 1},
        {"reason": 'weather: Expected one of the options: Sunny, Cloudy, Rain, Snow, Fog. Got "Hail".', "row_index": 2},
    ]
    assert _tree(folder) == [("one.jpg", "image", None, None, "https://x.example/1.jpg",
                              {"weather": "Sunny", "temperature": 3.0})]


def test_a_data_import_reports_an_unreadable_url_as_a_bad_row(workspace, owner):
    corpus_schema(workspace)
    folder = make_folder(workspace, "new")
    spec = {"images": [{"objectUrl": "http://[fe80::1/1.jpg"}, {"objectUrl": "https://x.example/2.jpg"}],
            "image_groups": [{"objectUrl": "http://[fe80::1/g", "images": []}]}
    task = run_import(workspace, owner, spec, "spec.json", kind="data", target={"folder": folder.pk})
    assert (task.status, task.inserted_rows) == ("COMPLETED_WITH_ERRORS", 1)
    assert task.sample_errors == [
        {"reason": "The objectUrl 'http://[fe80::1/1.jpg' is not an http or https URL.", "row_index": 0},
        {"reason": "The row has neither a media_id nor a title.", "row_index": 2},
    ]


@pytest.mark.parametrize("url", [
    "https://x.example/1.jpg", "HTTP://X.EXAMPLE", "http://x.example:8080/a?b#c", "http://localhost", "http://1.2.3.4/",
    "https://x_y.example/1.jpg", "http://user:pw@x.example/1.jpg", "http://[::1]/a.jpg", "http:///a.jpg", "http://:80/",
    "ftp://x/2.jpg", "https:/x.example", "x.example/1.jpg", " https://x.example/1.jpg", "https://x.example\n/1.jpg",
    "http://[fe80::1/1.jpg", "http://@/a",
])
def test_the_quick_url_check_agrees_with_urlsplit(url):
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        expected = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        expected = False
    assert kinds.is_http_url(url) is expected


def test_undoing_a_data_import_removes_the_items_it_created(workspace, owner):
    corpus_schema(workspace)
    folder = make_folder(workspace, "new")
    keep = make_item(folder, "two.jpg", metadata={"weather": "Fog"})
    task = run_import(workspace, owner, SPEC, "spec.json", kind="data", target={"folder": folder.pk})
    # 3 rows inserted (and two.jpg updated), plus the group's 2 frames and the video's 2 keyframe items
    assert (task.inserted_rows, Item.objects.filter(folder=folder).count()) == (3, 8)
    import_task_undo(task=task, user=owner)
    assert list(Item.objects.filter(folder=folder)) == [keep]
    assert _md(keep) == {"weather": "Fog"}


# --- undo, cancel, restart ---------------------------------------------------------------------------


def test_undo_restores_the_metadata_before_the_import(workspace, owner, folder, items):
    before = {i.pk: dict(i.client_metadata) for i in items}
    rows = [{"media_id": str(i.uid), "metadata": {"weather": "Snow"}} for i in items]
    task = run_import(workspace, owner, rows, "rows.json", mode="overwrite")
    assert all(_md(i) == {"weather": "Snow"} for i in items)
    task = import_task_undo(task=task, user=owner)
    assert task.undone_at is not None
    assert {i.pk: _md(i) for i in items} == before
    with pytest.raises(ImportTaskError) as exc:
        import_task_undo(task=task, user=owner)
    assert exc.value.message == "This import was already undone."


def test_an_import_undo_that_skips_items_with_a_newer_value_stays_available(workspace, owner, folder, items):
    a, b, _ = items
    rows = [{"media_id": str(i.uid), "metadata": {"weather": "Snow"}} for i in (a, b)]
    task = run_import(workspace, owner, rows, "rows.json")
    newer = item_metadata_write(workspace=workspace, user=owner, updates={b.pk: {"weather": "Fog"}}, mode="merge")
    task = import_task_undo(task=task, user=owner)
    assert task.undone_at is None and [c["item"] for c in task.undo_conflicts] == [b.pk]
    assert (_md(a)["weather"], _md(b)["weather"]) == ("Fog", "Fog")  # a restored (its value before), b left alone
    change_set_undo(change_set=newer.change_set, user=owner)
    task = import_task_undo(task=task, user=owner)
    assert task.undone_at is not None and task.undo_conflicts == []
    assert _md(b) == {"camera": "cam-2"}


def test_one_import_in_many_batches_is_one_change_set(workspace, owner, folder, monkeypatch):
    monkeypatch.setattr(services, "BATCH_ROWS", {"postgresql": 2, "sqlite": 2})
    many = [make_item(folder, f"m{i}.jpg") for i in range(7)]
    task = run_import(workspace, owner, [{"media_id": str(i.uid), "metadata": {"dark": True}} for i in many], "r.json")
    assert (task.status, task.updated_rows, task.committed_offset) == ("COMPLETED", 7, 7)
    assert len(change_set_entries(task.change_set)) == 7
    import_task_undo(task=task, user=owner)
    assert all(_md(i) == {} for i in many)


def test_cancel_stops_a_running_import_after_the_current_batch(workspace, owner, folder, monkeypatch):
    monkeypatch.setattr(services, "BATCH_ROWS", {"postgresql": 2, "sqlite": 2})
    many = [make_item(folder, f"m{i}.jpg") for i in range(6)]
    original = kinds.MetadataRows.commit
    calls = []

    def commit_then_cancel(self, prepared, *, write, change_set):
        outcome = original(self, prepared, write=write, change_set=change_set)
        calls.append(write)
        if write and calls.count(True) == 1:
            import_task_cancel(task=self.task, user=owner)
        return outcome

    monkeypatch.setattr(kinds.MetadataRows, "commit", commit_then_cancel)
    task = run_import(workspace, owner, [{"media_id": str(i.uid), "metadata": {"dark": True}} for i in many], "r.json")
    assert (task.status, task.updated_rows, task.failure_reason) == ("CANCELLED", 2, "Cancelled by owner.")
    assert [bool(_md(i)) for i in many] == [True, True, False, False, False, False]


def test_cancel_of_a_checked_task_finishes_it_at_once(workspace, owner, folder, items):
    task = run_import(workspace, owner, [{"media_id": str(items[0].uid), "metadata": {}}], "r.json", dry_run=True)
    task = import_task_cancel(task=task, user=owner)
    assert task.status == ImportStatus.CANCELLED
    with pytest.raises(ImportTaskError) as exc:
        import_task_cancel(task=task, user=owner)
    assert exc.value.message == "Only a task that has not finished can be cancelled."


class _WorkerKilled(BaseException):
    """Like the SystemExit a worker raises on a forced shutdown: the run stops dead."""


def _crash_on_batch(monkeypatch, kind_class, number):
    original = kind_class.commit
    state = {"writes": 0}

    def commit(self, prepared, *, write, change_set):
        if write:
            state["writes"] += 1
            if state["writes"] == number:
                original(self, prepared, write=write, change_set=change_set)  # written, never committed
                raise _WorkerKilled
        return original(self, prepared, write=write, change_set=change_set)

    monkeypatch.setattr(kind_class, "commit", commit)
    return lambda: monkeypatch.setattr(kind_class, "commit", original)


def test_a_restarted_import_finishes_from_its_last_committed_batch(workspace, owner, folder, monkeypatch):
    monkeypatch.setattr(services, "BATCH_ROWS", {"postgresql": 3, "sqlite": 3})
    many = [make_item(folder, f"m{i:02d}.jpg", metadata={"n": 0}) for i in range(10)]
    rows = [{"media_id": str(i.uid), "metadata": {"camera": f"cam-{n}"}} for n, i in enumerate(many)]
    rows.insert(4, {"media_id": "bad", "metadata": {}})
    restore = _crash_on_batch(monkeypatch, kinds.MetadataRows, 3)
    task = run_import(workspace, owner, rows, "r.json")
    assert (task.status, task.committed_offset, task.updated_rows) == ("RUNNING", 6, 5)
    restore()
    task = import_task_resume(task=task)
    task.refresh_from_db()
    assert (task.status, task.updated_rows, task.error_count, task.committed_offset) == ("COMPLETED_WITH_ERRORS", 10, 1, 11)
    assert task.sample_errors == [{"reason": "The media_id 'bad' is not a valid id.", "row_index": 4}]
    assert services.error_report_path(task).read_text().count("\n") == 2
    assert [_md(i) for i in many] == [{"n": 0, "camera": f"cam-{n}"} for n in range(10)]
    assert len(change_set_entries(task.change_set)) == 10


def test_a_restarted_data_import_creates_every_item_once(workspace, owner, monkeypatch):
    corpus_schema(workspace)
    monkeypatch.setattr(services, "BATCH_ROWS", {"postgresql": 2, "sqlite": 2})
    spec = {"images": [{"objectUrl": f"https://x.example/{n}.jpg", "clientMetadata": {"camera": f"c{n}"}} for n in range(9)]}
    uninterrupted = make_folder(workspace, "straight")
    straight = run_import(workspace, owner, spec, "spec.json", kind="data", target={"folder": uninterrupted.pk})
    crashed = make_folder(workspace, "crashed")
    restore = _crash_on_batch(monkeypatch, kinds.DataImport, 2)
    task = run_import(workspace, owner, spec, "spec.json", kind="data", target={"folder": crashed.pk})
    assert (task.status, task.inserted_rows) == ("RUNNING", 2)
    restore()
    import_task_resume(task=task)
    task.refresh_from_db()
    assert (task.status, task.inserted_rows) == (straight.status, straight.inserted_rows) == ("COMPLETED", 9)
    assert [t[:1] + t[2:] for t in _tree(crashed)] == [t[:1] + t[2:] for t in _tree(uninterrupted)]
    import_task_undo(task=task, user=owner)
    assert Item.objects.filter(folder=crashed).count() == 0


def test_a_data_import_into_an_empty_folder_updates_a_title_it_created_in_an_earlier_batch(
    workspace, owner, monkeypatch
):
    corpus_schema(workspace)
    monkeypatch.setattr(services, "BATCH_ROWS", {"postgresql": 2, "sqlite": 2})
    spec = {"images": [{"objectUrl": f"https://x.example/{n}.jpg", "title": f"t{n}", "clientMetadata": {"camera": f"c{n}"}}
                       for n in range(5)]
            + [{"objectUrl": "https://x.example/again.jpg", "title": "t1", "clientMetadata": {"camera": "again"}}]}
    folder = make_folder(workspace, "empty")
    task = run_import(workspace, owner, spec, "spec.json", kind="data", target={"folder": folder.pk})
    assert (task.status, task.inserted_rows, task.updated_rows) == ("COMPLETED", 5, 1)
    assert sorted((i.title, i.client_metadata["camera"], i.media_url) for i in Item.objects.filter(folder=folder)) == [
        ("t0", "c0", "https://x.example/0.jpg"), ("t1", "again", "https://x.example/1.jpg"),
        ("t2", "c2", "https://x.example/2.jpg"), ("t3", "c3", "https://x.example/3.jpg"),
        ("t4", "c4", "https://x.example/4.jpg"),
    ]


def test_an_unexpected_error_fails_the_task_with_its_reason(workspace, owner, folder, items, monkeypatch):
    def broken(self, prepared, *, write, change_set):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(kinds.MetadataRows, "commit", broken)
    task = run_import(workspace, owner, [{"media_id": str(items[0].uid), "metadata": {}}], "r.json")
    assert (task.status, task.failure_reason) == ("FAILED", "The import stopped unexpectedly: disk on fire")


def test_rerunning_the_same_file_gives_the_same_final_state(workspace, owner, folder, items):
    rows = [{"media_id": str(i.uid), "metadata": {"weather": "Rain", "colors": ["red"]}} for i in items]
    run_import(workspace, owner, rows, "rows.json")
    first = [_md(i) for i in items]
    again = run_import(workspace, owner, rows, "rows.json")
    assert (again.updated_rows, again.unchanged_rows) == (0, 3)
    assert [_md(i) for i in items] == first


def test_a_file_naming_an_item_twice_applies_both_rows_in_order(workspace, owner, folder, items):
    a = items[0]
    rows = [{"media_id": str(a.uid), "metadata": {"weather": "Rain"}},
            {"media_id": str(a.uid), "metadata": {"weather": "Snow", "dark": True}}]
    task = run_import(workspace, owner, rows, "rows.json")
    assert task.status == "COMPLETED"
    assert _md(a) == {"camera": "cam-1", "weather": "Snow", "dark": True}


def test_the_status_payload_has_the_visual_layer_shape(workspace, owner, folder, items):
    rows = [{"media_id": str(items[0].uid), "value": True}, {"media_id": str(items[1].uid), "value": "no"}]
    task = run_import(workspace, owner, rows, "v.json", kind="field_values", target={"field": "dark"})
    assert task.status_payload() == {
        "task_id": str(task.uid), "status": "COMPLETED_WITH_ERRORS", "progress": 100.0, "inserted_rows": 1,
        "error_count": 1, "sample_errors": [{"reason": 'dark: Expected true or false. Got "no".', "row_index": 1}],
    }


def test_progress_only_goes_up_when_a_task_checks_and_applies_in_one_go(workspace, owner, folder, monkeypatch):
    monkeypatch.setattr(services, "BATCH_ROWS", {"postgresql": 2, "sqlite": 2})
    many = [make_item(folder, f"m{i}.jpg") for i in range(6)]
    content = json.dumps([{"media_id": str(i.uid), "metadata": {"dark": True}} for i in many]).encode()
    task = import_task_create(workspace=workspace, user=owner, kind="metadata_rows", dry_run=False,
                              policy="skip_bad_rows")
    import_task_upload(task=task, name="r.json", chunks=[content], enqueue=False)
    seen = []
    services.import_task_run(task_id=task.pk, on_progress=lambda t: seen.append((t.status, t.progress)))
    assert seen[0] == ("VALIDATING", 10.0)
    assert [p for _, p in seen] == sorted(p for _, p in seen)
    assert seen[-1] == ("COMPLETED", 100.0)
    assert [s for s, _ in seen].count("RUNNING") == 3


def test_a_large_import_leaves_the_item_table_analysed_for_the_planner(workspace, owner, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL statistics")
    monkeypatch.setattr("metadata_site.items.tasks.MAINTAIN_AFTER_ROWS", 4)
    corpus_schema(workspace)
    folder = make_folder(workspace, "new")
    task = run_import(workspace, owner, SPEC, "spec.json", kind="data", target={"folder": folder.pk})
    assert task.inserted_rows == 4
    with connection.cursor() as cursor:
        # The maintenance task ran (immediately, in tests): inside the test's transaction it is an ANALYZE.
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'items_item'::regclass")
        assert cursor.fetchone()[0] == Item.objects.count()


def test_a_long_data_import_checks_the_item_statistics_every_few_batches_and_a_metadata_import_only_first(
    workspace, owner, folder, items, monkeypatch
):
    monkeypatch.setattr(services, "BATCH_ROWS", {"postgresql": 1, "sqlite": 1})
    monkeypatch.setattr(services, "ANALYZE_EVERY_BATCHES", 2)
    checks = []
    monkeypatch.setattr(services, "analyze_if_stale", lambda *models: checks.append(models) or [])
    corpus_schema(workspace)
    folder = make_folder(workspace, "new")
    task = run_import(workspace, owner, SPEC, "spec.json", kind="data", target={"folder": folder.pk})
    assert task.inserted_rows == 4
    # Once before the passes, then after batches 2 and 4.
    assert checks == [(Item,), (Item,), (Item,)]
    checks.clear()
    rows = [{"media_id": str(i.uid), "metadata": {"camera": "cam-7"}} for i in items]
    task = run_import(workspace, owner, rows * 2, "rows.json")
    assert (task.status, task.updated_rows) == ("COMPLETED", len(items))
    assert checks == [(Item,)]


# --- the set-based path (PostgreSQL) gives what the general path gives ----------------------------


def test_a_batch_mixing_media_ids_and_titles_reports_a_bad_value_once_and_applies_the_rest(
    workspace, owner, folder, items
):
    a, b, c = items
    rows = [{"media_id": str(a.uid), "metadata": {"temperature": "hot"}},
            {"media_id": str(c.uid), "metadata": {"dark": True}},
            {"title": "b.jpg", "metadata": {"weather": "Rain"}}]
    task = run_import(workspace, owner, rows, "rows.json", target={"folder": folder.pk})
    assert (task.status, task.updated_rows, task.error_count) == ("COMPLETED_WITH_ERRORS", 2, 1)
    assert [e["row_index"] for e in task.sample_errors] == [0]
    assert (_md(a), _md(b), _md(c)) == ({"camera": "cam-1", "weather": "Fog"}, {"camera": "cam-2", "weather": "Rain"},
                                        {"dark": True})


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the set-based write is PostgreSQL's")
@pytest.mark.parametrize("mode", ["merge", "overwrite"])
@pytest.mark.parametrize("scope", ["workspace", "folder", "dataset"])
def test_the_set_based_write_ends_exactly_like_the_general_one(workspace, owner, folder, monkeypatch, mode, scope):
    monkeypatch.setattr(services, "BATCH_ROWS", {"postgresql": 4, "sqlite": 4})
    many = [make_item(folder, f"m{i}.jpg", metadata={"camera": f"cam-{i}", "weather": "Fog", "x": {"k": None}})
            for i in range(6)]
    outside = make_item(make_folder(workspace, "elsewhere"), "out.jpg", metadata={"camera": "cam-9"})
    dataset = make_dataset(make_project(workspace), items=many[:5])
    target = {"workspace": {}, "folder": {"folder": folder.pk}, "dataset": {"dataset": dataset.pk}}[scope]
    rows = [
        {"media_id": str(many[0].uid), "metadata": {"weather": "Sunny", "camera": None}},
        {"media_id": str(many[1].uid), "metadata": {"camera": "cam-1", "weather": "Fog", "x": {"k": None}}},
        {"media_id": str(many[2].uid), "metadata": {"temperature": "hot"}},
        {"media_id": "4b9fa3be-0000-4000-8000-000000000000", "metadata": {"temperature": "hot"}},
        {"media_id": str(many[3].uid), "metadata": {"dark": True, "note": "undeclared"}},
        {"media_id": str(many[3].uid), "metadata": {"dark": False}},  # the same item again, in the same batch
        {"media_id": str(outside.uid), "metadata": {"dark": True}},
        {"media_id": str(many[5].uid), "metadata": {"colors": ["red", "blue"], "temperature": 3}},
        {"media_id": str(many[4].uid), "metadata": {"weather": "Hail"}},
    ]

    def outcome(task):
        fields = ("status", "updated_rows", "unchanged_rows", "error_count", "sample_errors")
        state = {i.pk: _md(i) for i in [*many, outside]}
        return [getattr(task, f) for f in fields], state, len(change_set_entries(task.change_set))

    first = run_import(workspace, owner, rows, "rows.json", target=target, mode=mode)
    set_based = outcome(first)
    import_task_undo(task=first, user=owner)
    monkeypatch.setattr(kinds.MetadataRows, "set_based", property(lambda self: False))
    general = outcome(run_import(workspace, owner, rows, "rows.json", target=target, mode=mode))
    assert set_based == general
    assert set_based[0][3] >= 3  # the bad value, the unknown id and the bad enum option at least


# --- explorer indexes during a large import ---------------------------------------------------------


def _missing(workspace):
    return missing_field_indexes(workspace_id=workspace.pk, schema=schema_current(workspace=workspace))


def test_only_an_import_of_a_large_share_of_a_workspace_suspends_its_indexes():
    assert should_suspend(rows=1_000_000, workspace_items=1_000_000)
    assert should_suspend(rows=600_000, workspace_items=1_000_000)
    assert not should_suspend(rows=400_000, workspace_items=1_000_000)
    assert not should_suspend(rows=90_000, workspace_items=0)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("rows, suspended", [(6, True), (2, False)])
def test_a_large_import_drops_the_explorer_indexes_while_it_writes_and_has_them_rebuilt(
    workspace, owner, monkeypatch, rows, suspended
):
    corpus_schema(workspace)
    folder = make_folder(workspace, "f")
    existing = [make_item(folder, f"{n}.jpg") for n in range(6)]
    build_field_indexes.call(workspace_id=workspace.pk)  # the indexes and the typed projection
    assert _missing(workspace) == []
    monkeypatch.setattr(indexes, "SUSPEND_MIN_ROWS", 5)
    monkeypatch.setattr(services, "BATCH_ROWS", {"postgresql": 2, "sqlite": 2})
    missing_during: list[int] = []
    apply_batch = services._apply_batch

    def watched(run, prepared, report):
        missing_during.append(len(_missing(workspace)))
        apply_batch(run, prepared, report)

    monkeypatch.setattr(services, "_apply_batch", watched)
    content = [{"media_id": str(i.uid), "metadata": {"weather": "Rain", "temperature": 1.5}} for i in existing[:rows]]
    task = run_import(workspace, owner, content, "rows.json")
    assert (task.status, task.updated_rows) == ("COMPLETED", rows)
    assert all(missing_during) if suspended else not any(missing_during)
    assert _missing(workspace) == []  # the (immediate) rebuild task ran
    assert Item.objects.filter(workspace=workspace, client_metadata__weather="Rain").count() == rows


@pytest.mark.django_db(transaction=True)
def test_an_import_resumed_after_a_crash_rebuilds_the_indexes_an_earlier_run_dropped(workspace, owner, monkeypatch):
    corpus_schema(workspace)
    folder = make_folder(workspace, "f")
    existing = [make_item(folder, f"{n}.jpg") for n in range(6)]
    build_field_indexes.call(workspace_id=workspace.pk)  # the indexes and the typed projection
    monkeypatch.setattr(indexes, "SUSPEND_MIN_ROWS", 5)
    monkeypatch.setattr(services, "BATCH_ROWS", {"postgresql": 2, "sqlite": 2})
    restore = _crash_on_batch(monkeypatch, kinds.MetadataRows, 2)
    content = [{"media_id": str(i.uid), "metadata": {"weather": "Snow"}} for i in existing]
    task = run_import(workspace, owner, content, "rows.json")
    assert task.status == "RUNNING"
    # The simulated crash is an exception, which runs the pass's cleanup; a killed worker runs none and
    # leaves the indexes dropped:
    suspend_field_indexes(workspace_id=workspace.pk)
    assert _missing(workspace)
    restore()
    monkeypatch.setattr(indexes, "SUSPEND_MIN_ROWS", 100)  # what is left is too small to suspend them again
    import_task_resume(task=task)
    task.refresh_from_db()
    assert task.status == "COMPLETED"
    assert _missing(workspace) == []


# --- values the database or the encoder would refuse are row errors ---------------------------------


@pytest.mark.parametrize("file_format", ["jsonl", "json"])
def test_values_the_database_or_the_encoder_would_refuse_are_bad_rows_and_the_rest_is_applied(
    workspace, owner, folder, items, file_format
):
    a, b, c = items
    rows = [
        f'{{"media_id": "{a.uid}", "metadata": {{"captured_at": "9999-12-31T23:00:00-23:59"}}}}',
        f'{{"media_id": "{b.uid}", "metadata": {{"camera": "cam-\\ud800"}}}}',
        f'{{"media_id": "{b.uid}", "metadata": {{"notes": {{"deep": ["\\udfff"]}}}}}}',
        '{"title": "a\\ud800.jpg", "metadata": {"camera": "x"}}',
        f'{{"media_id": "{c.uid}", "metadata": {{"captured_at": "9999-12-31T23:59:59Z", "camera": "ok"}}}}',
    ]
    content = "\n".join(rows) if file_format == "jsonl" else "[" + ",".join(rows) + "]"
    task = run_import(workspace, owner, content, f"rows.{file_format}", target={"folder": folder.pk})
    assert (task.status, task.updated_rows, task.error_count) == (ImportStatus.COMPLETED_WITH_ERRORS, 1, 4)
    expected = [
        {"reason": "captured_at: The date and time is out of range: converted to UTC it must fall between the "
                   "years 0001 and 9999.", "row_index": 0},
        {"reason": "camera: Text must be valid Unicode: it contains the lone surrogate \\ud800 at character 4, "
                   "which cannot be stored as UTF-8.", "row_index": 1},
        {"reason": "notes: Text must be valid Unicode: it contains the lone surrogate \\udfff at character 0, "
                   "which cannot be stored as UTF-8.", "row_index": 2},
        {"reason": "title: Text must be valid Unicode: it contains the lone surrogate \\ud800 at character 1, "
                   "which cannot be stored as UTF-8.", "row_index": 3},
    ]
    # Each reason also quotes the value it refused (with a lone surrogate written as its escape).
    assert [e["row_index"] for e in task.sample_errors] == [e["row_index"] for e in expected]
    for got, want in zip(task.sample_errors, expected, strict=True):
        assert got["reason"].startswith(want["reason"])
    assert _md(a) == {"camera": "cam-1", "weather": "Fog"}
    assert _md(b) == {"camera": "cam-2"}
    assert _md(c) == {"captured_at": "9999-12-31T23:59:59Z", "camera": "ok"}


def test_a_data_import_reports_titles_urls_and_values_that_cannot_be_stored_per_row(workspace, owner):
    corpus_schema(workspace)
    folder = make_folder(workspace, "new")
    content = json.dumps({"images": [
        {"objectUrl": "https://x.example/1.jpg", "title": "one\ud800.jpg"},
        {"objectUrl": "https://x.example/\udc00.jpg", "title": "two.jpg"},
        {"objectUrl": "https://x.example/3.jpg", "clientMetadata": {"captured_at": "0001-01-01T00:00:00+01:00"}},
        {"objectUrl": "https://x.example/4.jpg", "clientMetadata": {"extra\ud800": 1}},
        {"objectUrl": "https://x.example/5.jpg", "clientMetadata": {"camera": "fine"}},
    ]})
    task = run_import(workspace, owner, content, "data.json", kind="data", target={"folder": folder.pk})
    assert (task.status, task.inserted_rows, task.error_count) == ("COMPLETED_WITH_ERRORS", 1, 4)
    assert [(e["row_index"], e["reason"].split(":")[0]) for e in task.sample_errors] == [
        (0, "title"), (1, "objectUrl"), (2, "captured_at"), (3, "extra\\ud800"),
    ]
    assert _tree(folder) == [("5.jpg", "image", None, None, "https://x.example/5.jpg", {"camera": "fine"})]


def test_a_data_import_reports_titles_another_import_created_while_it_ran(workspace, owner):
    from datetime import timedelta

    from django.utils import timezone

    from metadata_site.imports.models import ImportTask

    corpus_schema(workspace)
    folder = make_folder(workspace, "new")
    run_import(workspace, owner, {"images": [{"objectUrl": "https://x.example/old.jpg"}]}, "a.json", kind="data",
               target={"folder": folder.pk})
    # This import started now, after old.jpg was created; meanwhile another one creates new.jpg in the folder.
    slow = import_task_create(workspace=workspace, user=owner, kind="data", target={"folder": folder.pk},
                              dry_run=False, policy="skip_bad_rows")
    ImportTask.objects.filter(pk=slow.pk).update(started_at=timezone.now() - timedelta(microseconds=1))
    slow.refresh_from_db()
    run_import(workspace, owner, {"images": [{"objectUrl": "https://x.example/new.jpg"}]}, "b.json", kind="data",
               target={"folder": folder.pk})
    spec = {"images": [{"objectUrl": "https://x.example/old.jpg", "clientMetadata": {"camera": "c"}},
                       {"objectUrl": "https://x.example/new.jpg", "clientMetadata": {"camera": "c"}},
                       {"objectUrl": "https://x.example/third.jpg"}]}
    import_task_upload(task=slow, name="c.json", chunks=[json.dumps(spec).encode()])
    slow.refresh_from_db()
    assert (slow.status, slow.inserted_rows, slow.updated_rows, slow.unchanged_rows) == ("COMPLETED_WITH_ERRORS", 1, 1, 0)
    assert slow.sample_errors == [{"reason": kinds.ROW_TITLE_TAKEN_MEANWHILE.format(value="new.jpg"), "row_index": 1}]
    assert sorted(Item.objects.filter(folder=folder).values_list("title", flat=True)) == [
        "new.jpg", "old.jpg", "third.jpg"]
