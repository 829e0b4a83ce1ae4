"""The task pages: list, upload form, task page with its htmx status fragment, apply, cancel, undo,
error report."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from metadata_site.imports.models import ImportTask

from ..factories import make_folder, make_item
from .helpers import corpus_schema, run_import


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def folder(workspace):
    corpus_schema(workspace)
    return make_folder(workspace, "cams")


@pytest.fixture
def checked(workspace, owner, folder):
    make_item(folder, "a.jpg")
    return run_import(workspace, owner, "title,dark\na.jpg,true\nb.jpg,maybe\n", "rows.csv",
                      target={"folder": folder.pk}, dry_run=True)


def _url(name, task=None, slug="acme"):
    return reverse(f"imports:{name}", args=[slug] + ([task.pk] if task else []))


def test_the_list_shows_the_workspace_tasks(login, owner, checked):
    response = login(owner).get(_url("list"))
    assert response.status_code == 200
    assert b"rows.csv" in response.content and b"Checked, waiting to apply" in response.content


def test_viewers_see_tasks_but_cannot_upload_and_strangers_get_404(login, viewer, stranger, checked):
    assert login(viewer).get(_url("task", checked)).status_code == 200
    assert login(viewer).get(_url("new")).status_code == 403
    assert login(viewer).post(_url("apply", checked), {"policy": "skip_bad_rows"}).status_code == 403
    assert login(viewer).post(_url("undo", checked)).status_code == 403
    assert login(stranger).get(_url("task", checked)).status_code == 404
    assert login(stranger).get(_url("list")).status_code == 404
    assert login(stranger).get(_url("errors", checked)).status_code == 404


def test_uploading_a_file_checks_it_and_shows_its_errors(login, owner, folder):
    make_item(folder, "a.jpg")
    client = login(owner)
    page = client.get(_url("new") + f"?folder={folder.pk}&kind=metadata_rows")
    assert page.status_code == 200
    upload = SimpleUploadedFile("rows.csv", b"title,dark\na.jpg,true\nb.jpg,maybe\n", content_type="text/csv")
    response = client.post(_url("new"), {"kind": "metadata_rows", "folder": folder.pk, "mode": "merge",
                                         "apply": "", "file": upload})
    task = ImportTask.objects.get()
    assert response.status_code == 302 and response["Location"] == _url("task", task)
    page = client.get(_url("task", task))
    assert b"dark: Expected true or false." in page.content
    assert b"Apply, skipping 1 bad row" in page.content


def test_the_upload_form_reports_a_bad_target(login, owner, folder):
    upload = SimpleUploadedFile("v.json", b"[]")
    response = login(owner).post(_url("new"), {"kind": "field_values", "mode": "merge", "file": upload})
    assert response.status_code == 400
    assert b"Choose the field the values are for." in response.content


def test_the_htmx_status_fragment_polls_until_the_task_is_finished(login, owner, checked):
    client = login(owner)
    fragment = client.get(_url("task", checked), headers={"HX-Request": "true"})
    assert b"<html" not in fragment.content and b'id="task-status"' in fragment.content
    assert b"hx-trigger" not in fragment.content  # waiting for a decision: nothing to poll
    ImportTask.objects.filter(pk=checked.pk).update(status="RUNNING", progress=42)
    fragment = client.get(_url("task", checked), headers={"HX-Request": "true"})
    assert b'hx-trigger="every 1s"' in fragment.content and b"width: 42%" in fragment.content


def test_apply_then_undo_through_the_pages(login, owner, checked, folder):
    client = login(owner)
    response = client.post(_url("apply", checked), {"policy": "skip_bad_rows"})
    assert response.status_code == 302
    checked.refresh_from_db()
    assert (checked.status, checked.updated_rows, checked.error_count) == ("COMPLETED_WITH_ERRORS", 1, 1)
    report = client.get(_url("errors", checked))
    assert report.status_code == 200
    assert b"".join(report.streaming_content).decode() == "row_index,reason\r\n1,dark: Expected true or false.\r\n"
    assert b"Undo this import" in client.get(_url("task", checked)).content
    client.post(_url("undo", checked))
    checked.refresh_from_db()
    assert checked.undone_at is not None
    assert folder.items.get().client_metadata == {}


def test_apply_only_if_no_errors_is_refused_with_a_message(login, owner, checked):
    response = login(owner).post(_url("apply", checked), {"policy": "only_if_no_errors"}, follow=True)
    assert b"1 rows have errors, so nothing was applied" in response.content
    checked.refresh_from_db()
    assert checked.status == "VALIDATED"


def test_cancel_through_the_page(login, owner, checked):
    login(owner).post(_url("cancel", checked))
    checked.refresh_from_db()
    assert checked.status == "CANCELLED"


def test_folder_and_dataset_pages_link_to_the_upload_form(login, owner, folder):
    page = login(owner).get(reverse("projects:folder", args=["acme", folder.pk]))
    assert f"/w/acme/tasks/new/?folder={folder.pk}&amp;kind=data".encode() in page.content
