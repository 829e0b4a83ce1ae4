"""Every example of the Supervisely seed document (tests/compat/seeds/000_*.txt), extracted from its code fences: the
Python SDK calls run with the pinned `supervisely` SDK against a live metadata_site (placeholders filled), and each
JSON example is saved as custom data through the Info tab."""

import json

import pytest
from django.urls import reverse

from metadata_site.accounts.services import api_token_create
from metadata_site.projects.models import Dataset, Project
from tests.factories import make_dataset, make_project

from .sdk_env import run_script
from .seed_examples import SUPERVISELY, fenced

pytestmark = pytest.mark.django_db(transaction=True)


def _examples(kind):
    return [e for e in fenced(SUPERVISELY) if e.kind == kind]


@pytest.mark.sdk
def test_every_supervisely_sdk_example_runs_as_written(live_server, supervisely_python, workspace, editor):
    project = make_project(workspace, "roads", custom_data={"owner": "ml-team"})
    dataset = make_dataset(project, "ds0", custom_data={"split": "train"})
    examples = _examples("python")
    assert [e.line for e in examples] == [126, 140, 163, 174]
    fill = {126: {"12345": str(project.pk)}, 140: {"12345": str(project.pk)}, 163: {}, 174: {"67890": str(dataset.pk)}}
    # One namespace, as in a notebook: the silent-mode and dataset snippets use the names the examples above set.
    blocks = [{"name": e.name, "code": e.filled(fill[e.line])} for e in examples]
    # The dataset example passes `new_custom_data`, which it never defines: as written it raises NameError. It
    # runs again with the dict it built (`custom_data`).
    dataset_example = examples[-1]
    blocks.append({"name": "line 174, with the dict it built", "code": dataset_example.filled(
        fill[174]).replace("update_custom_data(dataset_id, new_custom_data)", "update_custom_data(dataset_id, custom_data)")})
    token = api_token_create(user=editor, name="sdk")[1]

    out = run_script(supervisely_python, "seed_runner.py", {"sdk": "supervisely", "blocks": blocks},
                     env={"SERVER_ADDRESS": live_server.url, "API_TOKEN": token})

    assert out[examples[0].name]["ok"] == "{'owner': 'ml-team'}\n"
    assert "ok" in out[examples[1].name] and "ok" in out[examples[2].name], out
    assert out[dataset_example.name]["error"] == "NameError" and "new_custom_data" in out[dataset_example.name]["message"]
    assert "ok" in out["line 174, with the dict it built"], out
    assert Project.objects.get(pk=project.pk).custom_data == {
        "owner": "ml-team", "processing_status": "completed", "processed_items": 150}
    assert Dataset.objects.get(pk=dataset.pk).custom_data == {
        "split": "train", "validation_score": 0.95, "last_checked": "2024-03-20"}


def test_every_custom_data_json_example_is_saved_through_the_info_tab(workspace, owner, client):
    project = make_project(workspace, "roads")
    client.force_login(owner)
    url = reverse("projects:project-info-custom-data", args=["acme", project.pk])
    examples = _examples("json")
    assert len(examples) == 5
    version = 1
    for example in examples:
        response = client.post(url, {"text": example.code, "base_version": version})
        project.refresh_from_db()
        if "//" in example.code:
            # "Keep your JSON structured" holds a // comment, which the document itself says JSON does not allow:
            # refused with the place of the comment, and nothing saved.
            assert response.status_code == 400
            assert "line 5, column 5" in response.content.decode()
            assert project.custom_data_version == version
            continue
        assert response.status_code in (200, 302), example.name
        assert project.custom_data == json.loads(example.code)
        version = project.custom_data_version
    assert project.custom_data == {"last_validation": {"date": "2024-03-15", "total_images": 1500, "issues_found": 8,
                                                       "quality_score": 0.94}}
