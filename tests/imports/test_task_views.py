"""The import task pages: upload form, task page with its htmx status fragment, apply, cancel, undo,
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


def test_viewers_see_tasks_but_cannot_upload_and_strangers_get_404(login, viewer, stranger, checked):
    assert login(viewer).get(_url("task", checked)).status_code == 200
    assert login(viewer).get(_url("new")).status_code == 403
    assert login(viewer).post(_url("apply", checked), {"policy": "skip_bad_rows"}).status_code == 403
    assert login(viewer).post(_url("undo", checked)).status_code == 403
    assert login(stranger).get(_url("task", checked)).status_code == 404
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
    lines = b"".join(report.streaming_content).decode().split("\r\n")
    assert lines[0] == "row_index,reason,row"
    assert lines[1].startswith('1,"dark: Expected true or false. Got ""maybe"".","{')  # the row's values beside it
    assert '""dark"": ""maybe""' in lines[1]
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


def test_the_form_marks_each_input_with_the_kinds_that_read_it(login, owner, folder):
    html = login(owner).get(_url("new")).content.decode()
    assert '<div class="form-row" data-kinds="field_values">' in html and "(field values only)" in html
    assert 'data-kinds="metadata_rows field_values data"' in html  # the folder: every kind
    assert '<div class="form-row" data-kinds="metadata_rows">' in html and "js/imports.js" in html
    assert 'data-kinds="metadata_rows field_values"' in html  # the dataset


def test_matching_by_title_without_a_folder_is_refused_at_once_and_errors_print_once(login, owner, folder):
    upload = SimpleUploadedFile("rows.csv", b"title,dark\na.jpg,true\n")
    response = login(owner).post(_url("new"), {"kind": "metadata_rows", "mode": "merge", "match": "title",
                                               "file": upload})
    html = response.content.decode()
    assert response.status_code == 400
    assert html.count("Matching by title needs a folder or a dataset to look in.") == 1
    assert not ImportTask.objects.exists()
    upload = SimpleUploadedFile("rows.csv", b"title,dark\na.jpg,true\n")
    response = login(owner).post(_url("new"), {"kind": "data", "mode": "merge", "file": upload})
    assert response.content.decode().count("A data import creates items in a folder: choose one.") == 1
    upload = SimpleUploadedFile("rows.csv", b"title,dark\na.jpg,true\n")
    response = login(owner).post(_url("new"), {"kind": "metadata_rows", "mode": "merge", "folder": folder.pk,
                                               "dataset": "", "file": upload, "apply": "bogus"})
    assert response.status_code == 400
    assert response.content.decode().count("Select a valid choice. bogus is not one of the available choices.") == 1


def test_inputs_another_kind_reads_are_ignored(login, owner, folder):
    make_item(folder, "a.jpg")
    upload = SimpleUploadedFile("rows.csv", b"title,dark\na.jpg,true\n")
    # A field and a title match left over from another kind (the form without JavaScript shows every input).
    response = login(owner).post(_url("new"), {"kind": "data", "mode": "merge", "folder": folder.pk,
                                               "field": "dark", "match": "title", "file": upload})
    task = ImportTask.objects.get()
    assert response.status_code == 302 and task.target == {"folder": folder.pk}


def test_an_upload_error_is_printed_once(login, owner, folder):
    upload = SimpleUploadedFile("rows.txt", b"hello")
    response = login(owner).post(_url("new"), {"kind": "metadata_rows", "mode": "merge", "folder": folder.pk,
                                               "file": upload})
    html = response.content.decode()
    assert response.status_code == 400
    start = html.index('id="import-error">') + len('id="import-error">')
    message = html[start:html.index("</p>", start)]
    assert message and html.count(message) == 1
    assert not ImportTask.objects.exists()


def test_an_undo_that_skips_a_newer_value_says_so_and_keeps_undo(login, owner, workspace, checked):
    from metadata_site.items.models import Item
    from metadata_site.items.services import item_metadata_write

    client = login(owner)
    client.post(_url("apply", checked), {"policy": "skip_bad_rows"})
    item = Item.objects.get(title="a.jpg")
    item_metadata_write(workspace=workspace, user=owner, updates={item.pk: {"dark": False}}, mode="merge")
    html = client.post(_url("undo", checked), follow=True).content.decode()
    assert "Partly undone: left alone 1 item changed again since the import (a newer value)." in html
    assert "Undo this import" in html and 'id="task-undone"' not in html
