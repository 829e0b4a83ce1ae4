import pytest
from django.urls import reverse

from tests.factories import make_folder, make_project


@pytest.fixture
def home_url(workspace):
    return reverse("workspaces:home", args=["acme"])


def test_it_lists_projects_and_folders_for_members(workspace, login, owner, home_url):
    make_project(workspace, "Road scenes")
    make_folder(workspace, "fleet")
    response = login(owner).get(home_url)
    assert response.status_code == 200
    assert b"Road scenes" in response.content
    assert b"fleet" in response.content


def test_viewers_can_read_it(workspace, login, viewer, home_url):
    assert login(viewer).get(home_url).status_code == 200


def test_strangers_get_404(workspace, login, stranger, home_url):
    assert login(stranger).get(home_url).status_code == 404


def test_anonymous_users_are_sent_to_log_in(workspace, client, home_url):
    response = client.get(home_url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_the_index_redirects_a_single_workspace_member_home(workspace, login, viewer):
    response = login(viewer).get(reverse("workspaces:index"))
    assert response.status_code == 302
    assert response.url == reverse("workspaces:home", args=["acme"])


def test_a_folder_counts_the_items_of_its_subfolders(workspace, login, viewer, home_url):
    from tests.factories import make_item

    root = make_folder(workspace, "fleet")
    make_item(root, "a.jpg")
    make_item(make_folder(workspace, "2024", parent=make_folder(workspace, "day", parent=root)), "b.jpg")
    response = login(viewer).get(home_url)
    assert [(f.name, f.item_count) for f in response.context["folders"]] == [("fleet", 2)]
    assert "<td>2</td>" in response.content.decode()
