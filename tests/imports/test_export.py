"""Exports: streamed JSON / JSONL / CSV, background exports with a file, and the round trip back in."""

import csv
import io
import json

import pytest
from django.urls import reverse

from metadata_site.imports import exports
from metadata_site.imports.models import ImportTask
from metadata_site.items.models import Item

from ..factories import make_dataset, make_folder, make_item, make_project, make_user, make_workspace
from .helpers import corpus_schema, run_import


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def folder(workspace):
    corpus_schema(workspace)
    folder = make_folder(workspace, "cams")
    make_item(folder, "a.jpg", media_url="https://x.example/a.jpg",
              metadata={"weather": "Rain", "colors": ["red", "blue"], "dark": True, "note": {"free": 1}})
    make_item(folder, "b.jpg", media_url="https://x.example/b.jpg", metadata={"temperature": -2.5, "captured_at": "2024-05-01T10:30:00Z"})
    make_item(make_folder(workspace, "inner", parent=folder), "c.jpg", media_url="https://x.example/c.jpg",
              metadata={"camera": "cam-7"})
    make_item(make_folder(workspace, "elsewhere"), "d.jpg")
    return folder


def _get(client, **params):
    response = client.get(reverse("imports:export", args=["acme"]), params)
    return response, b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()


def test_it_streams_a_folder_with_its_subfolders_as_json(login, owner, folder):
    response, body = _get(login(owner), scope=f"folder:{folder.pk}", format="json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith(f'attachment; filename="export-folder-{folder.pk}-')
    rows = json.loads(body)
    assert [r["title"] for r in rows] == ["a.jpg", "b.jpg", "c.jpg"]
    a = Item.objects.get(title="a.jpg")
    assert rows[0] == {"media_id": str(a.uid), "title": "a.jpg", "url": "https://x.example/a.jpg", "kind": "image",
                       "metadata": {"weather": "Rain", "colors": ["red", "blue"], "dark": True, "note": {"free": 1}}}


def test_it_streams_jsonl_and_csv(login, owner, folder):
    client = login(owner)
    _, body = _get(client, scope=f"folder:{folder.pk}", format="jsonl")
    assert [json.loads(line)["title"] for line in body.splitlines()] == ["a.jpg", "b.jpg", "c.jpg"]
    response, body = _get(client, scope=f"folder:{folder.pk}", format="csv")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["media_id", "title", "url", "kind", "weather", "temperature", "captured_at", "camera",
                       "colors", "dark", "source"]
    assert rows[1][1:] == ["a.jpg", "https://x.example/a.jpg", "image", "Rain", "", "", "", "red|blue", "true", ""]
    assert rows[2][1:] == ["b.jpg", "https://x.example/b.jpg", "image", "", "-2.5", "2024-05-01T10:30:00Z", "", "", "", ""]


def test_it_exports_an_explorer_filter_result(login, owner, folder):
    _, body = _get(login(owner), scope=f"folder:{folder.pk}", f="weather:eq:Rain", format="jsonl")
    assert [json.loads(line)["title"] for line in body.splitlines()] == ["a.jpg"]
    _, body = _get(login(owner), f="temperature:lt:0", format="jsonl")
    assert [json.loads(line)["title"] for line in body.splitlines()] == ["b.jpg"]


def test_the_explorer_page_links_to_the_export_of_its_result(login, owner, folder):
    page = login(owner).get(reverse("explorer:explore", args=["acme"]), {"f": "weather:eq:Rain"})
    assert b"/w/acme/export/?f=weather%3Aeq%3ARain&amp;format=csv" in page.content


def test_it_exports_a_dataset_and_an_empty_json_array(login, owner, folder, workspace):
    client = login(owner)
    dataset = make_dataset(make_project(workspace), items=[Item.objects.get(title="b.jpg")])
    _, body = _get(client, scope=f"dataset:{dataset.pk}", format="json")
    assert [r["title"] for r in json.loads(body)] == ["b.jpg"]
    empty = make_dataset(make_project(workspace))
    _, body = _get(client, scope=f"dataset:{empty.pk}", format="json")
    assert json.loads(body) == []


@pytest.mark.parametrize(
    "params, message",
    [({"scope": "folder:999999"}, "scope: no folder 999999 in this workspace"),
     ({"scope": "shelf:1"}, "scope: expected folder:<id>, dataset:<id> or collection:<id>, got 'shelf:1'"),
     ({"f": "weather:eq:Hail"}, "f=weather:eq:Hail: 'Hail' is not an option of 'weather'; options: Sunny, Cloudy, Rain, Snow, Fog"),
     ({"format": "xml"}, "Unknown export format 'xml': use json, jsonl or csv.")],
)
def test_it_answers_400_for_a_bad_request(login, owner, folder, params, message):
    response, body = _get(login(owner), **params)
    assert (response.status_code, body) == (400, message)


def test_strangers_get_404_and_viewers_can_export(login, viewer, stranger, folder):
    assert _get(login(stranger), format="json")[0].status_code == 404
    assert _get(login(viewer), format="json")[0].status_code == 200


def test_a_large_export_runs_in_the_background_with_a_file(login, owner, folder, monkeypatch):
    monkeypatch.setattr(exports, "EXPORT_CHUNK_ROWS", 2)
    client = login(owner)
    response, _ = _get(client, scope=f"folder:{folder.pk}", format="jsonl", background="1")
    task = ImportTask.objects.get(kind="export")
    assert response.status_code == 302 and response["Location"] == reverse("imports:task", args=["acme", task.pk])
    assert (task.status, task.progress, task.done, task.total, task.inserted_rows) == ("COMPLETED", 100, 3, 3, 0)
    assert b"Download export-folder" in client.get(response["Location"]).content
    download = client.get(reverse("imports:download", args=["acme", task.pk]))
    lines = b"".join(download.streaming_content).decode().splitlines()
    assert [json.loads(line)["title"] for line in lines] == ["a.jpg", "b.jpg", "c.jpg"]


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_an_export_imported_into_a_fresh_workspace_gives_the_same_metadata(login, owner, folder, fmt):
    _, body = _get(login(owner), scope=f"folder:{folder.pk}", format=fmt)
    _, csv_body = _get(login(owner), scope=f"folder:{folder.pk}", format="csv")
    other_owner = make_user("other")
    fresh = make_workspace("fresh", members={other_owner: "admin"})
    corpus_schema(fresh)
    target = make_folder(fresh, "copy")
    # The items first (a data import of the CSV export: url, title and the declared fields) ...
    created = run_import(fresh, other_owner, csv_body, "export.csv", kind="data", target={"folder": target.pk})
    assert (created.status, created.inserted_rows) == ("COMPLETED", 3)
    # ... then all their metadata, undeclared keys included, matched by title.
    task = run_import(fresh, other_owner, body, f"export.{fmt}", target={"folder": target.pk, "match": "title"},
                      mode="overwrite")
    assert (task.status, task.error_count) == ("COMPLETED", 0)

    def metadata(ws):
        return {i.title: i.client_metadata for i in Item.objects.filter(workspace=ws, title__in=["a.jpg", "b.jpg", "c.jpg"])}

    assert metadata(fresh) == metadata(folder.workspace)
