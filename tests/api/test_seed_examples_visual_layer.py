"""Every request of the Visual Layer seed document (tests/compat/seeds/002_*.txt), extracted from its code fences and
sent with plain HTTP to a live metadata_site: the paths of its ```http blocks with their placeholders filled, and its
```json blocks as the bodies, files and expected shapes. The data units are created with the document's own
media_ids, so every file is uploaded exactly as written."""

import json
import uuid

import httpx
import pytest

from metadata_site.accounts.services import api_token_create
from tests.compat.seed_examples import VISUAL_LAYER, fenced, json_without_comments
from tests.factories import make_dataset, make_folder, make_item, make_project

pytestmark = pytest.mark.django_db(transaction=True)

DOC_MEDIA_IDS = ["f3e3d00c-1a8e-4a58-85dc-cdea7a8365a0", "b1ac12e7-53dc-4c7c-b93d-1836b4aa4f95",
                 "2283963d-6c78-442e-9606-352ab1c30e64", "346ba239-5422-475c-aba3-afffc984c13a"]


def test_every_visual_layer_request_runs_as_written(live_server, workspace, editor):
    folder = make_folder(workspace, "raw")
    items = [make_item(folder, f"{n}.jpg", uid=uuid.UUID(uid)) for n, uid in enumerate(DOC_MEDIA_IDS)]
    dataset = make_dataset(make_project(workspace, "roads"), "Roads", items=items)
    examples = fenced(VISUAL_LAYER)
    http = {e.line: e for e in examples if e.kind == "http"}
    body = {e.line: json_without_comments(e.code) for e in examples if e.kind == "json"}
    assert sorted(http) == [110, 175, 223, 268, 276]
    assert sorted(body) == [89, 118, 129, 140, 158, 183, 192, 203, 229, 242, 282]

    client = httpx.Client(base_url=live_server.url, timeout=30,
                          headers={"Authorization": f"Bearer {api_token_create(user=editor, name='vl')[1]}"})

    def call(line, *, json_body=None, files=None, **placeholders):
        filled = {"{dataset_id}": str(dataset.uid), **{f"{{{k}}}": v for k, v in placeholders.items()}}
        method, path = http[line].filled(filled).split()
        response = client.request(method, path, json=json_body, files=files)
        assert response.status_code == 200, (line, response.text)
        return response.json()

    def declare(declaration):
        created = call(110, json_body=declaration)
        assert set(created) == set(body[158]) and created["status"] == body[158]["status"] == "INIT"
        return created["task_id"]

    def upload(task_id, rows):
        files = {"file": ("metadata.json", json.dumps(rows).encode(), "application/json")}
        call(175, files=files, task_id=task_id)
        status = call(223, task_id=task_id)
        assert set(status) == set(body[229]) and status["task_id"] == task_id
        return status

    # A string field, as declared and with the values of "Preparing the JSON File".
    text_task = declare(body[118])
    status = upload(text_task, body[89])
    assert (status["status"], status["inserted_rows"], status["error_count"]) == ("COMPLETED", 2, 0)
    # The other types the declaration's comment names; float takes the float upload example.
    for field_type in ("float", "datetime", "link"):
        assert declare({**body[118], "field_name": f"{field_type}_field", "field_type": field_type})
    float_task = declare({**body[118], "field_name": "temperature", "field_type": "float"})
    status = upload(float_task, body[183])
    assert (status["status"], status["inserted_rows"]) == ("COMPLETED", 2)
    # The error example: float values uploaded to the string field read "Expected String", as documented.
    status = upload(declare(body[118]), body[183])
    assert status["status"] == body[242]["status"] == "COMPLETED_WITH_ERRORS"
    assert [e["reason"] for e in status["sample_errors"]] == [body[242]["sample_errors"][0]["reason"]] * 2
    assert set(status["sample_errors"][0]) >= set(body[242]["sample_errors"][0])
    # The enum examples: the uploads' values are not among the declarations' options (the document pairs them
    # loosely), so those rows are refused with the enum reason and nothing else changes.
    status = upload(declare(body[129]), body[192])
    assert (status["error_count"], status["sample_errors"][0]["reason"]) == (1, "Expected Enum")
    status = upload(declare(body[140]), body[203])
    assert (status["error_count"], status["sample_errors"][0]["reason"]) == (1, "Expected Enum")
    # Values from options the declarations do list are stored.
    status = upload(declare(body[140]), [{"media_id": DOC_MEDIA_IDS[3], "value": ["yellow", "blue"]}])
    assert status["inserted_rows"] == 1

    schema = call(268)
    assert {f["field_name"] for f in schema} >= {"Your_field_name", "temperature", "priority", "multi_colors"}
    assert {"field_name": "priority", "field_type": "enum", "enum_options": ["Low", "Medium", "High"],
            "is_multi": False} in schema
    values = call(276, image_id=DOC_MEDIA_IDS[0])
    assert [set(v) for v in values] == [set(body[282][0])] * len(values)
    assert {"field_name": "temperature", "field_type": "float", "value": 23.5} in values
    assert {"field_name": "Your_field_name", "field_type": "string", "value": "Sunny"} in values
    assert {"field_name": "multi_colors", "field_type": "enum", "value": ["yellow", "blue"]} in call(
        276, image_id=DOC_MEDIA_IDS[3])
