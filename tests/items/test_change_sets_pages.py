import pytest
from django.urls import reverse

from metadata_site.items.services import CHANGE_SET_ALREADY_UNDONE, item_metadata_write
from tests.factories import make_folder, make_item


@pytest.fixture
def change(workspace, owner):
    folder = make_folder(workspace)
    a = make_item(folder, "a.jpg", metadata={"weather": "Sunny"})
    b = make_item(folder, "b.jpg", metadata={"weather": "Sunny"})
    result = item_metadata_write(
        workspace=workspace, user=owner, updates={a.pk: {"weather": "Rain"}, b.pk: {"weather": "Rain"}},
        mode="merge", description="Rain everywhere",
    )
    return {"change_set": result.change_set, "a": a, "b": b}


def _urls(change_set):
    return {
        "list": reverse("items:changes", args=["acme"]),
        "detail": reverse("items:change-set", args=["acme", change_set.pk]),
        "undo": reverse("items:undo-change", args=["acme", change_set.pk]),
    }


@pytest.mark.parametrize("page", ["list", "detail"])
def test_owners_and_viewers_see_changes_and_strangers_get_404(login, owner, viewer, stranger, change, page):
    url = _urls(change["change_set"])[page]
    assert login(owner).get(url).status_code == 200
    assert login(viewer).get(url).status_code == 200
    assert login(stranger).get(url).status_code == 404


def test_the_list_shows_who_did_what_and_offers_undo_to_editors(login, owner, viewer, change):
    html = login(owner).get(_urls(change["change_set"])["list"]).content.decode()
    assert "Rain everywhere" in html and "owner" in html and ">Undo</button>" in html
    assert ">Undo</button>" not in login(viewer).get(_urls(change["change_set"])["list"]).content.decode()


def test_viewers_cannot_undo_and_strangers_get_404(login, viewer, stranger, change):
    assert login(viewer).post(_urls(change["change_set"])["undo"]).status_code == 403
    assert login(stranger).post(_urls(change["change_set"])["undo"]).status_code == 404


def test_undo_restores_and_reports_conflicts(login, editor, owner, workspace, change):
    item_metadata_write(workspace=workspace, user=owner, updates={change["b"].pk: {"weather": "Fog"}}, mode="merge")
    response = login(editor).post(_urls(change["change_set"])["undo"], follow=True)
    html = response.content.decode()
    assert "Undone: 1 items restored" in html
    assert "1 items were changed again since and were left alone: b.jpg." in html
    change["a"].refresh_from_db()
    change["b"].refresh_from_db()
    assert change["a"].client_metadata == {"weather": "Sunny"}
    assert change["b"].client_metadata == {"weather": "Fog"}
    response = login(editor).post(_urls(change["change_set"])["undo"], follow=True)
    assert CHANGE_SET_ALREADY_UNDONE in response.content.decode()
