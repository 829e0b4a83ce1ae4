"""The official Supervisely SDK (pinned, in its own cached virtualenv) against a live metadata_site."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from metadata_site.accounts.services import api_token_create
from metadata_site.projects.models import Dataset, InfoRevision, Project
from tests.factories import make_dataset, make_folder, make_item, make_project

from .sdk_env import run_script

pytestmark = [pytest.mark.sdk, pytest.mark.django_db(transaction=True)]


def test_the_supervisely_sdk_reads_and_replaces_custom_data(live_server, supervisely_python, workspace, owner,
                                                             editor, viewer, client):
    project = make_project(workspace, "roads", custom_data={"owner": "ml-team"})
    dataset = make_dataset(project, "ds0", items=[make_item(make_folder(workspace, "fleet"))])
    Project.objects.filter(pk=project.pk).update(updated_at=timezone.now() - timedelta(days=1))
    payload = {
        "server": live_server.url,
        "token": api_token_create(user=editor, name="sdk")[1],
        "viewer_token": api_token_create(user=viewer, name="sdk")[1],
        "project_id": project.pk,
        "dataset_id": dataset.pk,
    }

    out = run_script(supervisely_python, "supervisely_calls.py", payload)

    assert out["get_custom_data"]["ok"] == {"owner": "ml-team"}
    assert out["update_custom_data"]["ok"]["customData"] == {"owner": "sdk", "tags": ["a", "b"], "n": 1}
    assert out["after_update"]["ok"] == {"owner": "sdk", "tags": ["a", "b"], "n": 1}
    # silent=True replaces the data and leaves updated_at as it was.
    assert out["after_silent"]["ok"] == {"owner": "sdk", "silent": True}
    assert out["updated_at_2"]["ok"] == out["updated_at_1"]["ok"]
    assert out["merge"]["ok"]["customData"] == {"owner": "sdk", "silent": True, "merged": 1}
    assert out["dataset_custom_data"]["ok"] == {}
    assert out["dataset_update"]["ok"]["custom_data"] == {"split": "train"}
    assert out["dataset_after"]["ok"] == {"split": "train"}
    assert out["dataset_project_id"]["ok"] == project.pk
    # Error cases: 404 → None on *.info, HTTPError elsewhere; never a retried 5xx (each answer is immediate).
    assert out["unknown_project_info"]["ok"] is None
    assert out["unknown_dataset_info"]["ok"] is None
    assert (out["unknown_project_update"]["error"], out["unknown_project_update"]["status"]) == ("HTTPError", 404)
    assert (out["wrong_token"]["error"], out["wrong_token"]["status"]) == ("HTTPError", 401)
    assert (out["invalid_custom_data"]["error"], out["invalid_custom_data"]["status"]) == ("HTTPError", 400)
    assert "must be a JSON object" in out["invalid_custom_data"]["body"]
    assert (out["viewer_update"]["error"], out["viewer_update"]["status"]) == ("HTTPError", 403)
    assert out["viewer_read"]["ok"] == out["final"]["ok"]
    assert all(step["seconds"] < 10 for step in out.values()), out

    # What the SDK wrote is what the database holds and the Info tabs show.
    final = {"owner": "sdk", "silent": True, "merged": 1}
    assert out["final"]["ok"] == final
    assert Project.objects.get(pk=project.pk).custom_data == final
    assert Dataset.objects.get(pk=dataset.pk).custom_data == {"split": "train"}
    assert InfoRevision.objects.filter(project=project, kind="custom_data").count() == 3
    client.force_login(owner)
    page = client.get(reverse("projects:project-info", args=[workspace.slug, project.pk])).content.decode()
    assert "merged" in page and "silent" in page
    page = client.get(reverse("projects:dataset-info", args=[workspace.slug, dataset.pk])).content.decode()
    assert "train" in page
