import pytest
from django.db import connection  # noqa: F401 (the skipif condition)
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


def test_a_partial_undo_names_the_skipped_items_and_the_newer_change_and_stays_undoable(
    login, editor, owner, workspace, change
):
    newer = item_metadata_write(
        workspace=workspace, user=owner, updates={change["b"].pk: {"weather": "Fog"}}, mode="merge"
    )
    response = login(editor).post(_urls(change["change_set"])["undo"], follow=True)
    html = response.content.decode()
    assert "Partly undone: 1 item restored" in html
    assert (
        f"Skipped 1 item changed again since (a newer value, left alone): b.jpg (changed by change "
        f"{newer.change_set.pk})." in html
    )
    change["a"].refresh_from_db()
    change["b"].refresh_from_db()
    assert change["a"].client_metadata == {"weather": "Sunny"}
    assert change["b"].client_metadata == {"weather": "Fog"}
    change["change_set"].refresh_from_db()
    assert change["change_set"].undone_at is None
    assert ">Undo</button>" in html

    # Once the newer change is undone, the rest of the first one can be undone too.
    login(editor).post(reverse("items:undo-change", args=["acme", newer.change_set.pk]))
    html = login(editor).post(_urls(change["change_set"])["undo"], follow=True).content.decode()
    assert "Undone: 2 items restored" in html
    change["b"].refresh_from_db()
    assert change["b"].client_metadata == {"weather": "Sunny"}
    response = login(editor).post(_urls(change["change_set"])["undo"], follow=True)
    assert CHANGE_SET_ALREADY_UNDONE in response.content.decode()


def test_an_undo_that_restores_nothing_does_not_mark_the_change_undone(login, editor, owner, workspace, change):
    item_metadata_write(
        workspace=workspace, user=owner, updates={change["a"].pk: {"weather": "Fog"}, change["b"].pk: {"weather": "Fog"}},
        mode="merge",
    )
    html = login(editor).post(_urls(change["change_set"])["undo"], follow=True).content.decode()
    assert "Nothing was undone: every item of this change has a newer value." in html
    assert "Undone:" not in html and "Skipped 2 items" in html
    change["change_set"].refresh_from_db()
    assert change["change_set"].undone_at is None
    assert ">Undo</button>" in html


def test_the_change_page_shows_values_as_json_with_a_per_key_diff(login, owner, workspace):
    item = make_item(make_folder(workspace, "other"), "c.jpg", metadata={"dark": False, "camera": "c1", "n": 1})
    result = item_metadata_write(
        workspace=workspace, user=owner, updates={item.pk: {"dark": True, "camera": None, "colors": ["red"]}},
        mode="merge",
    )
    html = login(owner).get(_urls(result.change_set)["detail"]).content.decode()
    assert "True" not in html and "{&#x27;" not in html
    assert '<li data-key="dark" class="diff-changed"><strong>dark</strong>: <code>false</code> → <code>true</code>' in html
    assert '<li data-key="camera" class="diff-removed"><strong>camera</strong>: <code>&quot;c1&quot;</code> → ' in html
    assert '<li data-key="colors" class="diff-added"><strong>colors</strong>: <span class="muted">no value</span> → <code>[&quot;red&quot;]</code>' in html
    assert 'data-key="n"' not in html
    # The whole objects too, as JSON (PostgreSQL's jsonb orders keys its own way).
    assert "&quot;dark&quot;: false" in html and "&quot;camera&quot;: &quot;c1&quot;" in html


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="batches are PostgreSQL's set-based writes")
def test_the_change_page_lists_the_items_of_a_change_set_recorded_by_batches(login, owner, workspace, monkeypatch):
    import json

    from metadata_site.items import views
    from metadata_site.items.models import ChangeSet
    from metadata_site.items.services import item_metadata_patch

    monkeypatch.setattr(views, "CHANGE_SET_ENTRIES_SHOWN", 3)
    folder = make_folder(workspace)
    items = [make_item(folder, f"{n}.jpg", metadata={"weather": "Sunny"}) for n in range(5)]
    change_set = ChangeSet.objects.create(workspace=workspace, user=owner, operation="import", source="import")
    # Two batches: the later one holds the first item by id, written twice.
    for run in (items[1:], items[:2]):
        item_metadata_patch(workspace=workspace, change_set=change_set, merge=True, patches=[
            json.dumps({"i": n, "u": str(it.uid), "p": {"weather": f"Rain {n}"}}) for n, it in enumerate(run)
        ])
    html = login(owner).get(_urls(change_set)["detail"]).content.decode()
    assert "the first 3" in html
    assert [f'data-item="{it.uid}"' in html for it in items] == [True, True, True, False, False]
    assert html.count("Sunny") >= 3  # each item's first previous value
