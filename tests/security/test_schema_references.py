"""Attack class: a custom-data JSON Schema whose `$ref` makes the server read a file or make a request (SSRF).

No schema may ever cause I/O: references resolve only inside the schema, anything else is refused when the
schema is saved, and a schema stored before that rule makes later custom-data saves fail cleanly, never fetch.
"""

import json
import socket
import sys
import threading

import pytest
from django.urls import reverse

from metadata_site.accounts.services import api_token_create
from metadata_site.lib import safeschema
from metadata_site.projects.models import Project
from tests.factories import make_dataset, make_project

SECRET = "top-secret-content-4711"

# Paths the server must never open; the audit hook records any attempt (audit hooks cannot be removed, so it only
# looks at paths a test has put here).
_WATCHED: set[str] = set()
_OPENED: list[str] = []


def _audit(event: str, args: tuple) -> None:
    if event == "open" and _WATCHED and str(args[0]) in _WATCHED:
        _OPENED.append(str(args[0]))


sys.addaudithook(_audit)


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it gets and closes each at once."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> int:
        self._stop.set()
        self._thread.join()
        self.sock.close()
        return self.connections


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.json"
    path.write_text(json.dumps({"type": "object", "description": SECRET}))
    _WATCHED.add(str(path))
    _OPENED.clear()
    yield path
    _WATCHED.discard(str(path))


@pytest.fixture
def project(workspace):
    project = make_project(workspace, "Roads", custom_data={"owner": "ml"})
    make_dataset(project, "train", custom_data={"split": "train"})
    return project


def _save_schema(client, project, schema):
    url = reverse("projects:project-info-schema", args=["acme", project.pk])
    return client.post(url, {"text": json.dumps(schema), "base_version": project.custom_data_schema_version})


def test_a_file_reference_is_refused_at_save_with_a_clear_message_and_the_file_is_never_opened(
    project, login, editor, secret_file
):
    ref = secret_file.as_uri()
    response = _save_schema(login(editor), project, {"$ref": ref})
    html = response.content.decode()
    assert response.status_code == 400
    assert "does not resolve inside this schema" in html and ref in html
    assert SECRET not in html
    assert _OPENED == []
    assert Project.objects.get(pk=project.pk).custom_data_schema is None


@pytest.mark.parametrize("where", ["$ref", "nested $ref", "$dynamicRef"])
def test_an_http_reference_is_refused_at_save_and_the_listener_gets_no_connection(
    project, login, editor, listener, where
):
    ref = f"http://127.0.0.1:{listener.port}/schema.json"
    schema = {
        "$ref": {"$ref": ref},
        "nested $ref": {"properties": {"owner": {"prefixItems": [{"$ref": ref}], "anyOf": [{"$ref": ref}]}}},
        "$dynamicRef": {"$dynamicRef": ref},
    }[where]
    response = _save_schema(login(editor), project, schema)
    assert response.status_code == 400
    assert safeschema.EXTERNAL_REF.format(ref=ref).replace("'", "&#x27;").replace('"', "&quot;") in (
        response.content.decode()
    )
    assert listener.close() == 0
    assert Project.objects.get(pk=project.pk).custom_data_schema is None


def test_a_stored_schema_with_a_remote_reference_never_connects_on_later_saves(
    project, login, editor, listener, client
):
    """A schema stored before the rule existed: every custom-data save (page, API, Supervisely) refuses cleanly."""
    ref = f"http://127.0.0.1:{listener.port}/schema.json"
    Project.objects.filter(pk=project.pk).update(custom_data_schema={"$ref": ref})
    dataset = project.datasets.get()
    page = login(editor).post(
        reverse("projects:dataset-info-custom-data", args=["acme", dataset.pk]),
        {"text": '{"split": "val"}', "base_version": dataset.custom_data_version},
    )
    assert page.status_code == 400
    client.logout()
    token = api_token_create(user=editor, name="sdk")[1]
    api = client.put(
        f"/api/w/acme/projects/{project.pk}/custom_data",
        json.dumps({"a": 1}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 422
    assert "does not resolve inside this schema" in api.json()["detail"]
    sly = client.post(
        "/public/api/v3/datasets.editInfo",
        json.dumps({"id": dataset.pk, "customData": {"split": "val"}}),
        content_type="application/json",
        headers={"x-api-key": token},
    )
    assert 400 <= sly.status_code < 500
    assert listener.close() == 0
    assert Project.objects.get(pk=project.pk).custom_data == {"owner": "ml"}


def test_references_inside_the_schema_still_work(project, login, editor):
    schema = {
        "$defs": {"owner": {"type": "string", "minLength": 2}},
        "type": "object",
        "properties": {"owner": {"$ref": "#/$defs/owner"}},
    }
    response = _save_schema(login(editor), project, schema)
    assert response.status_code == 302
    assert Project.objects.get(pk=project.pk).custom_data_schema == schema
    response = login(editor).post(
        reverse("projects:project-info-custom-data", args=["acme", project.pk]),
        {"text": '{"owner": "x"}', "base_version": 1},
    )
    assert response.status_code == 400
    assert "<code>$.owner</code>: &#x27;x&#x27; is too short" in response.content.decode()


def test_a_reference_to_a_missing_definition_is_refused_at_save(project, login, editor):
    response = _save_schema(login(editor), project, {"$ref": "#/$defs/nowhere"})
    assert response.status_code == 400
    assert "does not resolve inside this schema" in response.content.decode()


def test_a_schema_of_another_dialect_is_refused_with_the_supported_one_named(project, login, editor):
    response = _save_schema(login(editor), project, {"$schema": "http://json-schema.org/draft-04/schema#"})
    assert response.status_code == 400
    assert "JSON Schema draft 2020-12" in response.content.decode()
