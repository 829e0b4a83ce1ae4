"""Oversized and malformed input: each is a clear 4xx and changes nothing, through the pages and the API.

Bodies: a 1 MB+ custom data document, 10,000- and 100,000-deep nesting, invalid UTF-8, 1e999 and NaN; an
import upload past IMPORT_MAX_UPLOAD_BYTES refused from its Content-Length (a 2 GB body is never read) or
while streaming; a CSV with mismatched columns.
"""

import io
import json

import pytest

from metadata_site.imports.models import ImportTask
from metadata_site.items.models import Item
from metadata_site.projects.models import Project

from ..imports.helpers import run_import
from . import calls

pytestmark = pytest.mark.django_db

BIG = '{"blob": "' + "x" * 1_100_000 + '"}'
DEEP = "[" * 10_000 + "]" * 10_000
DEEPER = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"
BAD_UTF8 = b'{"name": "caf\xe9"}'
NUMBERS = ['{"temperature": 1e999}', '{"temperature": NaN}', '{"temperature": -Infinity}', '{"t": 1' + "0" * 5000 + "}"]


def _api(client, world, method, path, body: bytes | str):
    raw = body.encode() if isinstance(body, str) else body
    return client.generic(method, path, raw, content_type="application/json",
                          headers={"Authorization": f"Bearer {world.tokens['admin']}"})  # fmt: skip


def _state(world) -> tuple:
    project = Project.objects.get(pk=world.project.pk)
    return project.custom_data, project.readme, Item.objects.get(pk=world.item.pk).client_metadata


@pytest.mark.parametrize("body", [BIG, DEEP, DEEPER, BAD_UTF8, *NUMBERS], ids=[
    "1MB+", "10000-deep", "100000-deep", "invalid-utf8", "1e999", "NaN", "-Infinity", "5000-digit-int"])
def test_the_api_refuses_hostile_json_and_changes_nothing(client, world, body):
    before = _state(world)
    targets = [
        ("PUT", f"/api/w/acme/projects/{world.project.pk}/custom_data"),
        ("PATCH", f"/api/w/acme/projects/{world.project.pk}/custom_data"),
        ("PUT", f"/api/w/acme/items/{world.item.uid}/metadata"),
        ("PATCH", f"/api/w/acme/items/{world.item.uid}/metadata"),
        ("POST", "/api/w/acme/items/metadata"),
        ("PUT", f"/api/w/acme/projects/{world.project.pk}/readme"),
    ]
    for method, path in targets:
        response = calls.rolled_back(lambda: _api(client, world, method, path, body))  # noqa: B023
        assert 400 <= response.status_code < 500, (method, path, response.status_code)
        detail = response.json().get("detail")
        assert detail, (method, path, response.content[:200])
    assert _state(world) == before


@pytest.mark.parametrize("body", [BIG, DEEP, DEEPER, *NUMBERS], ids=[
    "1MB+", "10000-deep", "100000-deep", "1e999", "NaN", "-Infinity", "5000-digit-int"])
def test_the_info_tab_refuses_hostile_custom_data_and_changes_nothing(client, world, body):
    client.force_login(world.users["admin"])
    before = _state(world)
    url = f"/w/acme/projects/{world.project.pk}/info/custom-data/"
    response = calls.rolled_back(lambda: client.post(url, {"text": body}))
    assert response.status_code == 400
    assert b'role="alert"' in response.content or b"errorlist" in response.content or b"error" in response.content
    assert _state(world) == before


@pytest.mark.parametrize("body", [DEEP, *NUMBERS[:3]], ids=["10000-deep", "1e999", "NaN", "-Infinity"])
def test_the_metadata_json_editor_refuses_hostile_json(client, world, body):
    client.force_login(world.users["admin"])
    before = _state(world)
    url = f"/w/acme/items/{world.item.uid}/metadata/json/"
    response = calls.rolled_back(lambda: client.post(url, {"text": body, "json": body, "metadata": body}))
    assert 400 <= response.status_code < 500
    assert _state(world) == before


class _Guard(io.RawIOBase):
    """A request body of `size` bytes that fails the test if more than `allowed` are read."""

    def __init__(self, size: int, allowed: int) -> None:
        self.size, self.allowed, self.read_bytes = size, allowed, 0

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.read_bytes if n is None or n < 0 else min(n, self.size - self.read_bytes)
        self.read_bytes += n
        assert self.read_bytes <= self.allowed, f"read {self.read_bytes} bytes of a refused upload"
        return b"x" * n

    def readline(self, size: int = -1) -> bytes:
        return self.read(64 if size is None or size < 0 else min(size, 64))


def test_a_2gb_upload_is_refused_from_its_content_length_without_reading_it(client, world, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
    client.force_login(world.users["admin"])
    tasks = ImportTask.objects.count()
    guard = _Guard(size=2 * 1024**3, allowed=0)
    response = client.generic(
        "POST", "/w/acme/tasks/new/", b"", content_type="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(2 * 1024**3), **{"wsgi.input": guard},
    )  # fmt: skip
    assert response.status_code == 413
    assert "larger than the limit of 10485760 bytes" in response.content.decode()
    assert guard.read_bytes == 0
    assert ImportTask.objects.count() == tasks


def test_an_upload_past_the_limit_stops_being_read(client, world, settings):
    """Under the Content-Length slack but over the limit: the upload handler stops the parser mid-file."""
    settings.IMPORT_MAX_UPLOAD_BYTES = 1000
    client.force_login(world.users["admin"])
    tasks = ImportTask.objects.count()
    content = b'[{"title": "a", "metadata": {}}' + b", {}" * 10_000 + b"]"
    upload = io.BytesIO(content)
    upload.name = "rows.json"
    response = client.post("/w/acme/tasks/new/", {"kind": "metadata_rows", "mode": "merge", "file": upload})
    assert response.status_code == 413
    assert ImportTask.objects.count() == tasks


def test_a_csv_with_mismatched_columns_changes_nothing(world):
    before = _state(world)
    content = f"media_id,temperature\n{world.item.uid},1.5,extra,cells\n{world.item.uid}\n"
    task = run_import(world.workspace, world.users["admin"], content, "rows.csv")
    task.refresh_from_db()
    assert task.error_count == 2 or task.status == "FAILED", (task.status, task.error_count, task.sample_errors)
    reasons = json.dumps(task.sample_errors) + (task.failure_reason or "")
    assert "column" in reasons.lower() or "cells" in reasons.lower()
    assert _state(world) == before


def _gzip_bomb() -> bytes:
    """About 10 KB that inflate to 10 MB of a JSON array (a decompression bomb)."""
    import gzip

    return gzip.compress(b"[" + b"0," * 5_000_000 + b"0]", compresslevel=9)


def test_a_zip_bomb_upload_is_refused_as_an_unknown_format_and_never_inflated(client, world):
    client.force_login(world.users["admin"])
    tasks = ImportTask.objects.count()
    bomb = _gzip_bomb()
    assert len(bomb) < 50_000
    for name in ("rows.json.gz", "rows.zip"):
        upload = io.BytesIO(bomb)
        upload.name = name
        response = client.post("/w/acme/tasks/new/", {"kind": "metadata_rows", "mode": "merge", "file": upload})
        assert response.status_code == 400, name
        assert "Unknown file format" in response.content.decode()
    assert ImportTask.objects.count() == tasks


def test_a_gzip_encoded_api_body_is_not_inflated_and_changes_nothing(client, world):
    before = _state(world)
    response = client.generic(
        "PATCH", f"/api/w/acme/items/{world.item.uid}/metadata", _gzip_bomb(), content_type="application/json",
        headers={"Authorization": f"Bearer {world.tokens['admin']}", "Content-Encoding": "gzip"},
    )  # fmt: skip
    assert response.status_code in (400, 415, 422)
    assert "detail" in response.json()
    assert _state(world) == before


def test_a_json_bomb_of_a_million_tiny_values_is_refused_and_changes_nothing(client, world):
    before = _state(world)
    body = '{"temperature": [' + "0," * 1_000_000 + "0]}"
    response = _api(client, world, "PATCH", f"/api/w/acme/items/{world.item.uid}/metadata", body)
    assert 400 <= response.status_code < 500
    assert _state(world) == before
