import pytest
from django.urls import reverse

from metadata_site.collections import services
from metadata_site.collections.models import CollectionTask
from tests.factories import make_collection, make_dataset, make_folder, make_item, make_project

pytestmark = pytest.mark.django_db


def test_the_info_tab_shows_the_source_collections_and_filter(workspace, owner, login):
    folder = make_folder(workspace)
    c = make_collection(workspace, "Rainy days", items=[make_item(folder)])
    ds = services.dataset_create_from_collections(
        workspace=workspace,
        user=owner,
        title="train",
        collection_ids=[c.pk],
        filter_state={"scope": f"folder:{folder.pk}"},
        new_project_name="P",
        split_image_groups=True,
    )
    html = login(owner).get(reverse("projects:dataset-info", args=["acme", ds.pk])).content.decode()
    assert 'id="dataset-source"' in html
    assert "Rainy days" in html
    assert f"scope=folder%3A{folder.pk}" in html
    assert "split into their frames" in html


def test_a_dataset_without_a_source_shows_no_source_block(workspace, owner, login):
    ds = make_dataset(make_project(workspace))
    html = login(owner).get(reverse("projects:dataset-info", args=["acme", ds.pk])).content.decode()
    assert 'id="dataset-source"' not in html


def test_an_importing_dataset_shows_its_progress_and_task(workspace, owner, login):
    ds = make_dataset(make_project(workspace), "busy", status="IMPORTING", progress=30)
    task = CollectionTask.objects.create(workspace=workspace, kind="create_dataset", dataset=ds, total=10, done=3)
    html = login(owner).get(reverse("projects:dataset", args=["acme", ds.pk])).content.decode()
    assert 'aria-valuenow="30"' in html
    assert reverse("collections:task", args=["acme", task.uid]) in html
    ready = make_dataset(make_project(workspace), "ready")
    html = login(owner).get(reverse("projects:dataset", args=["acme", ready.pk])).content.decode()
    assert 'id="dataset-progress"' not in html
