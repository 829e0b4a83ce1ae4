import pytest
from django.urls import reverse

from tests.factories import make_dataset, make_folder, make_item, make_project


@pytest.fixture
def tree(workspace):
    root = make_folder(workspace, "fleet")
    sub = make_folder(workspace, "2024", parent=root)
    item = make_item(sub, "img_0001.jpg", metadata={"weather": "Sunny"})
    project = make_project(workspace, "Road scenes")
    dataset = make_dataset(project, "train", items=[item])
    return {"root": root, "sub": sub, "item": item, "project": project, "dataset": dataset}


def _urls(tree):
    return {
        "project": reverse("projects:project", args=["acme", tree["project"].pk]),
        "dataset": reverse("projects:dataset", args=["acme", tree["dataset"].pk]),
        "folder": reverse("projects:folder", args=["acme", tree["sub"].pk]),
        "item": reverse("items:item", args=["acme", tree["item"].uid]),
        "thumbnail": reverse("items:thumbnail", args=["acme", tree["item"].uid]),
    }


@pytest.mark.parametrize("page_name", ["project", "dataset", "folder", "item", "thumbnail"])
def test_owners_and_viewers_see_each_page_and_strangers_get_404(tree, login, owner, viewer, stranger, page_name):
    url = _urls(tree)[page_name]
    assert login(owner).get(url).status_code == 200
    assert login(viewer).get(url).status_code == 200
    assert login(stranger).get(url).status_code == 404


def test_the_dataset_page_lists_its_items(tree, login, owner):
    response = login(owner).get(_urls(tree)["dataset"])
    assert b"img_0001.jpg" in response.content


def test_the_folder_page_shows_its_breadcrumbs_and_items(tree, login, owner):
    response = login(owner).get(_urls(tree)["folder"])
    assert b"fleet" in response.content
    assert b"img_0001.jpg" in response.content


def test_the_item_page_shows_metadata_and_datasets(tree, login, owner):
    response = login(owner).get(_urls(tree)["item"])
    assert b"Sunny" in response.content
    assert b"train" in response.content


def test_the_thumbnail_is_a_png(tree, login, owner):
    response = login(owner).get(_urls(tree)["thumbnail"])
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")


def test_an_item_of_another_workspace_is_a_404_even_for_its_own_members(tree, login, stranger):
    # The stranger is admin of "elsewhere", but the item belongs to "acme".
    url = reverse("items:item", args=["elsewhere", tree["item"].uid])
    assert login(stranger).get(url).status_code == 404
