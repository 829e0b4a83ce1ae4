import pytest
from django.urls import reverse

from metadata_site.collections.models import Collection, CollectionItem, CollectionTask
from metadata_site.projects.models import Dataset
from tests.factories import make_collection, make_folder, make_image_group, make_item, make_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(workspace):
    folder = make_folder(workspace, "cams")
    items = [make_item(folder, f"img_{i}.jpg") for i in range(3)]
    frozen = make_collection(workspace, "Night", items=items[:2])
    live = make_collection(workspace, "Everything", kind="live", filter={"scope": f"folder:{folder.pk}"})
    return {"folder": folder, "items": items, "frozen": frozen, "live": live}


def url(name, *args):
    return reverse(f"collections:{name}", args=["acme", *args])


# --- access rules: owner 200, viewer read 200 / write 403, stranger 404 --------------------------


def test_the_collections_page_is_for_members_only(data, login, owner, viewer, stranger):
    assert login(owner).get(url("list")).status_code == 200
    assert login(viewer).get(url("list")).status_code == 200
    assert login(stranger).get(url("list")).status_code == 404


@pytest.mark.parametrize(
    ("name", "needs_pk"),
    [
        ("edit", True),
        ("delete", True),
        ("freeze", True),
        ("remove-items", True),
        ("add-items", False),
        ("create-dataset", False),
    ],
)
def test_viewers_cannot_write_and_strangers_get_404(data, login, viewer, stranger, name, needs_pk):
    target = url(name, data["frozen"].pk) if needs_pk else url(name)
    assert login(viewer).post(target, {"title": "x"}).status_code == 403
    assert login(stranger).post(target, {"title": "x"}).status_code == 404
    assert Collection.objects.filter(title="Night").exists()


def test_the_dialogs_are_editor_only(data, login, owner, editor, viewer, stranger):
    for name in ("add-items", "create-dataset"):
        assert login(owner).get(url(name)).status_code == 200
        assert login(editor).get(url(name)).status_code == 200
        assert login(viewer).get(url(name)).status_code == 403
        assert login(stranger).get(url(name)).status_code == 404


def test_a_task_page_is_for_members_only(data, workspace, login, owner, viewer, stranger):
    task = CollectionTask.objects.create(workspace=workspace, kind="add_items", collection=data["frozen"], total=4)
    assert login(owner).get(url("task", task.uid)).status_code == 200
    assert login(viewer).get(url("task", task.uid)).status_code == 200
    assert login(stranger).get(url("task", task.uid)).status_code == 404


# --- collections page ----------------------------------------------------------------------------


def test_the_page_lists_collections_with_counts_kinds_and_actions(data, login, owner):
    response = login(owner).get(url("list"))
    html = response.content.decode()
    assert "Night" in html and "Everything" in html
    assert f"?scope=collection:{data['frozen'].pk}" in html
    rows = {r["collection"].title: r for r in response.context["rows"]}
    assert rows["Night"]["count"] == 2
    assert rows["Everything"]["count"] == 3
    assert "Freeze" in html
    assert "Create dataset from selected collections" in html


def test_viewers_see_no_write_buttons(data, login, viewer):
    html = login(viewer).get(url("list")).content.decode()
    assert "Create dataset from selected" not in html
    assert "Delete" not in html


def test_the_page_query_count_does_not_grow_with_collections(
    data, workspace, login, owner, django_assert_max_num_queries
):
    client = login(owner)
    for i in range(5):
        make_collection(workspace, f"extra{i}", items=data["items"])
    with django_assert_max_num_queries(30):
        client.get(url("list"))


# --- add to collection ---------------------------------------------------------------------------


def test_ticked_items_go_into_a_new_frozen_collection(data, login, editor):
    ids = ",".join(str(i.pk) for i in data["items"][1:])
    response = login(editor).post(
        url("add-items"), {"ids": ids, "target": "new", "title": "Picked", "description": "two", "kind": "frozen"}
    )
    assert response.status_code == 302
    c = Collection.objects.get(title="Picked")
    assert set(c.items.all()) == set(data["items"][1:])
    assert c.created_by == editor


def test_all_matching_a_filter_goes_into_an_existing_collection(data, login, editor):
    response = login(editor).post(
        url("add-items"),
        {"all": "1", "scope": f"folder:{data['folder'].pk}", "target": "existing", "collection": data["frozen"].pk},
    )
    assert response.status_code == 302
    assert data["frozen"].memberships.count() == 3


def test_a_live_collection_keeps_the_filter(data, login, editor):
    login(editor).post(
        url("add-items"),
        {"all": "1", "scope": f"folder:{data['folder'].pk}", "target": "new", "title": "L", "kind": "live"},
    )
    c = Collection.objects.get(title="L")
    assert c.kind == "live"
    assert c.filter == {"all": [], "any": [], "scope": f"folder:{data['folder'].pk}"} or c.filter == {
        "scope": f"folder:{data['folder'].pk}"
    }
    assert c.memberships.count() == 0


def test_a_taken_title_shows_a_clear_message_and_changes_nothing(data, login, editor):
    response = login(editor).post(
        url("add-items"),
        {"ids": str(data["items"][0].pk), "target": "new", "title": "night", "kind": "frozen"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "already exists" in html
    assert "<html" not in html
    assert Collection.objects.count() == 2


def test_the_htmx_dialog_is_a_fragment_carrying_the_selection(data, login, editor):
    response = login(editor).get(url("add-items") + "?ids=1,2&scope=folder:9", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html
    assert '<dialog open class="modal"' in html
    assert 'name="ids" value="1,2"' in html
    assert "Adds <strong data-count=\"2\">2</strong> items: the ticked items." in html


def test_a_large_selection_redirects_to_the_progress_page(data, login, editor, monkeypatch):
    from metadata_site.collections import services

    monkeypatch.setattr(services, "INLINE_LIMIT", 1)
    response = login(editor).post(
        url("add-items"),
        {"all": "1", "scope": f"folder:{data['folder'].pk}", "target": "existing", "collection": data["frozen"].pk},
    )
    task = CollectionTask.objects.get()
    assert response["Location"] == url("task", task.uid)
    page = login(editor).get(url("task", task.uid))
    assert b"Completed" in page.content
    assert b'aria-valuenow="100"' in page.content


def test_ids_from_another_workspace_are_refused(data, login, editor, stranger):
    from metadata_site.workspaces.models import Workspace

    theirs = make_item(make_folder(Workspace.objects.get(slug="elsewhere")))
    response = login(editor).post(
        url("add-items"),
        {"ids": f"{data['items'][2].pk},{theirs.pk}", "target": "existing", "collection": data["frozen"].pk},
    )
    assert response.status_code == 400
    assert b"not items of this workspace" in response.content
    assert data["frozen"].memberships.count() == 2


# --- edit / delete / freeze / remove ----------------------------------------------------------------


def test_rename_and_describe(data, login, editor):
    login(editor).post(url("edit", data["frozen"].pk), {"title": "Nights", "description": "after dark"})
    data["frozen"].refresh_from_db()
    assert (data["frozen"].title, data["frozen"].description) == ("Nights", "after dark")


def test_delete_keeps_the_items(data, login, editor):
    login(editor).post(url("delete", data["frozen"].pk))
    assert not Collection.objects.filter(pk=data["frozen"].pk).exists()
    assert all(type(i).objects.filter(pk=i.pk).exists() for i in data["items"])


def test_freeze_a_live_collection(data, login, editor):
    login(editor).post(url("freeze", data["live"].pk))
    data["live"].refresh_from_db()
    assert data["live"].kind == "frozen"
    assert data["live"].memberships.count() == 3


def test_remove_ticked_items_goes_back_to_the_explorer_scoped_to_it(data, login, editor):
    response = login(editor).post(url("remove-items", data["frozen"].pk), {"ids": str(data["items"][0].pk)})
    assert response.status_code == 302
    assert f"scope=collection%3A{data['frozen'].pk}" in response["Location"]
    assert list(CollectionItem.objects.filter(collection=data["frozen"]).values_list("item_id", flat=True)) == [
        data["items"][1].pk
    ]


# --- create dataset --------------------------------------------------------------------------------


def test_create_a_dataset_in_a_new_project_from_collections(data, workspace, login, editor):
    group = make_image_group(data["folder"], frames=2)
    CollectionItem.objects.create(workspace=workspace, collection=data["frozen"], item=group)
    response = login(editor).post(
        url("create-dataset"),
        {"collections": [data["frozen"].pk], "title": "train", "new_project_name": "Road", "split_image_groups": "on"},
    )
    ds = Dataset.objects.get(name="train")
    assert response["Location"] == reverse("projects:dataset", args=["acme", ds.pk])
    assert ds.project.name == "Road"
    assert ds.memberships.count() == 4


def test_create_a_dataset_in_an_existing_project_from_an_explorer_selection(data, workspace, login, editor):
    project = make_project(workspace, "Existing")
    response = login(editor).post(
        url("create-dataset"),
        {"all": "1", "scope": f"folder:{data['folder'].pk}", "title": "val", "project": project.pk},
    )
    assert response.status_code == 302
    ds = Dataset.objects.get(name="val")
    assert ds.project == project
    assert ds.memberships.count() == 3
    assert ds.source["filter"]["scope"] == f"folder:{data['folder'].pk}"


def test_the_dataset_dialog_shows_the_chosen_collections(data, login, editor):
    response = login(editor).get(url("create-dataset") + f"?collections={data['frozen'].pk}")
    assert b"Night" in response.content
    assert f'name="collections" value="{data["frozen"].pk}"'.encode() in response.content


def test_the_dataset_dialog_refuses_a_missing_project(data, login, editor):
    response = login(editor).post(url("create-dataset"), {"collections": [data["frozen"].pk], "title": "t"})
    assert response.status_code == 400
    assert b"Choose an existing project or name a new one" in response.content
    assert not Dataset.objects.exists()


# --- tags on items ---------------------------------------------------------------------------------


def test_item_pages_and_grids_show_collection_titles_as_tags(data, login, owner):
    client = login(owner)
    item_page = client.get(reverse("items:item", args=["acme", data["items"][0].uid])).content.decode()
    assert '<span class="chip tag">Night</span>' in item_page
    assert '<span class="chip tag">Everything</span>' in item_page
    folder_page = client.get(reverse("projects:folder", args=["acme", data["folder"].pk])).content.decode()
    assert folder_page.count('<span class="chip tag">Night</span>') == 2
    assert folder_page.count('<span class="chip tag">Everything</span>') == 3


def test_grid_tags_cost_a_fixed_number_of_queries(data, workspace, login, owner, django_assert_num_queries):
    client = login(owner)
    target = reverse("projects:folder", args=["acme", data["folder"].pk])
    client.get(target)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(target)
    for i in range(20):
        make_item(data["folder"], f"more_{i}.jpg")
    with CaptureQueriesContext(connection) as many:
        client.get(target)
    assert len(many) == len(few)


# --- the explorer's selection protocol (selection=ids + item=<uid>, or selection=filter + f/any/scope) ---


def test_the_explorer_selection_page_posts_ticked_uids_which_open_the_dialog(data, login, editor):
    client = login(editor)
    uids = [str(i.uid) for i in data["items"][:2]]
    response = client.post(url("add-items"), {"selection": "ids", "item": uids})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Adds <strong data-count=\"2\">2</strong> items: the ticked items." in html
    assert f'name="item" value="{uids[0]}"' in html
    assert not Collection.objects.filter(title="From explorer").exists()
    response = client.post(
        url("add-items"),
        {"selection": "ids", "item": uids, "target": "new", "title": "From explorer", "kind": "frozen"},
    )
    assert response.status_code == 302
    assert set(Collection.objects.get(title="From explorer").items.all()) == set(data["items"][:2])


def test_the_explorer_select_all_matching_protocol(data, login, editor):
    response = login(editor).post(
        url("add-items"),
        {
            "selection": "filter",
            "scope": f"folder:{data['folder'].pk}",
            "target": "new",
            "title": "All",
            "kind": "frozen",
        },
    )
    assert response.status_code == 302
    assert Collection.objects.get(title="All").memberships.count() == 3


def test_uids_of_another_workspace_are_refused(data, login, editor, stranger):
    from metadata_site.workspaces.models import Workspace

    theirs = make_item(make_folder(Workspace.objects.get(slug="elsewhere")))
    response = login(editor).post(
        url("add-items"),
        {"selection": "ids", "item": [str(theirs.uid)], "target": "existing", "collection": data["frozen"].pk},
    )
    assert response.status_code == 400
    assert b"not items of this workspace" in response.content
    assert data["frozen"].memberships.count() == 2


def test_a_malformed_uid_is_a_clear_400(data, login, editor):
    response = login(editor).post(url("add-items"), {"selection": "ids", "item": ["nope"]})
    assert response.status_code == 400
    assert "“nope” is not an item id." in response.content.decode()


def test_create_dataset_from_an_explorer_selection_opens_the_form_first(data, login, editor):
    client = login(editor)
    uid = str(data["items"][2].uid)
    response = client.post(url("create-dataset"), {"selection": "ids", "item": [uid]})
    assert response.status_code == 200
    assert b"the explorer selection" in response.content
    response = client.post(
        url("create-dataset"), {"selection": "ids", "item": [uid], "title": "picked", "new_project_name": "P"}
    )
    assert response.status_code == 302
    assert list(Dataset.objects.get(name="picked").items.all()) == [data["items"][2]]


def test_the_explorer_grid_and_table_show_collection_tags(data, login, owner):
    client = login(owner)
    explore = reverse("explorer:explore", args=["acme"])
    grid = client.get(explore).content.decode()
    assert grid.count('<span class="chip tag">Night</span>') == 2
    assert grid.count('<span class="chip tag">Everything</span>') == 3
    table = client.get(explore, {"view": "table"}).content.decode()
    assert table.count('<span class="chip tag">Night</span>') == 2


def test_each_collection_links_to_its_export_and_the_export_has_its_items(data, login, viewer):
    client = login(viewer)
    html = client.get(url("list")).content.decode()
    export = reverse("imports:export", args=["acme"])
    assert f"{export}?scope=collection:{data['frozen'].pk}&amp;format=csv" in html
    response = client.get(export, {"scope": f"collection:{data['frozen'].pk}", "format": "jsonl"})
    body = b"".join(response.streaming_content).decode()
    assert body.count("\n") == 2
    assert "img_0.jpg" in body and "img_2.jpg" not in body


def test_the_explorer_selection_in_a_collection_scope_offers_remove_and_create_dataset(data, login, editor):
    client = login(editor)
    fields = {"selection": "ids", "item": [str(data["items"][0].uid)], "scope": f"collection:{data['frozen'].pk}"}
    html = client.post(reverse("explorer:selection", args=["acme"]), fields).content.decode()
    assert f'action="{url("remove-items", data["frozen"].pk)}"' in html
    assert "Remove from “Night”" in html
    assert f'action="{url("create-dataset")}"' in html
    response = client.post(url("remove-items", data["frozen"].pk), fields)
    assert response.status_code == 302
    assert list(data["frozen"].items.all()) == [data["items"][1]]


def test_a_live_collection_scope_offers_no_remove(data, login, editor):
    fields = {"selection": "filter", "scope": f"collection:{data['live'].pk}"}
    html = login(editor).post(reverse("explorer:selection", args=["acme"]), fields).content.decode()
    assert "Remove from" not in html


def test_the_collections_page_shows_a_broken_live_collection_with_its_problem(
        data, login, owner, viewer, stranger, workspace):
    from metadata_site.schemas.services import schema_change_field, schema_declare_field

    schema_declare_field(workspace=workspace, user=owner, field={"name": "t", "type": "float"})
    make_collection(workspace, "Cold", kind="live", filter={"all": [{"field": "t", "op": "lt", "value": 1}]})
    schema_change_field(workspace=workspace, user=owner, name="t", field={"name": "t", "type": "boolean"}, dry_run=False)
    for user in (owner, viewer):
        resp = login(user).get(url("list"))
        assert resp.status_code == 200
        assert "Cannot be evaluated: all[0]:" in resp.content.decode()
        assert "Everything" in resp.content.decode() and "Night" in resp.content.decode()
    assert login(stranger).get(url("list")).status_code == 404


def test_the_dialog_counts_a_filter_selection_and_describes_the_filter_in_words(data, workspace, login, editor, owner, stranger):
    from tests.factories import make_schema

    make_schema(workspace, [{"name": "weather", "type": "enum", "options": ["Rain", "Snow", "Sun"]}, {"name": "t", "type": "float"}])
    folder = data["folder"]
    for w, t in (("Rain", 35), ("Snow", 40), ("Sun", 50), ("Rain", 10)):
        make_item(folder, f"{w}{t}.jpg", metadata={"weather": w, "t": t})
    params = {"selection": "filter", "f": ["weather:in:Rain,Snow", "t:gt:30"]}
    response = login(editor).post(url("add-items"), params)
    assert response.status_code == 200
    assert response.context["selection_count"] == 2
    assert response.context["selection_description"] == "weather is Rain or Snow, t > 30.0"
    assert '<span id="add-filter">weather is Rain or Snow, t &gt; 30.0</span>' in response.content.decode()
    assert login(stranger).post(url("add-items"), params).status_code == 404


def test_an_empty_title_is_shown_beside_the_title_inside_the_htmx_dialog(data, login, editor):
    response = login(editor).post(url("add-items"), {"ids": str(data["items"][0].pk), "target": "new", "title": " "}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "<html" not in html and '<dialog open class="modal" id="add-to-collection"' in html
    assert '<p class="error" id="id_title_error" role="alert">A collection needs a title.</p>' in html
    assert 'data-swap-errors hx-post=' in html
