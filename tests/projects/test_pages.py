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


@pytest.mark.parametrize("page_name", ["dataset", "folder"])
def test_each_tile_links_its_item_page_and_shows_its_thumbnail(tree, login, owner, page_name):
    from metadata_site.media.selectors import item_thumbnail_url

    response = login(owner).get(_urls(tree)[page_name])
    html = response.content.decode()
    assert f'href="{_urls(tree)["item"]}"' in html
    thumb = item_thumbnail_url(slug="acme", item=tree["item"], request=response.wsgi_request)
    assert f'src="{thumb}"'.replace("&", "&amp;") in html


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


def test_the_folder_page_counts_its_subtree_and_lists_subfolders_with_theirs(tree, workspace, login, owner, viewer):
    from tests.factories import make_image_group

    deeper = make_folder(workspace, "march", parent=tree["sub"])
    make_image_group(deeper, "burst", frames=2)  # 3 items, as the explorer counts them
    make_item(tree["root"], "top.jpg")
    response = login(viewer).get(reverse("projects:folder", args=["acme", tree["root"].pk]))
    body = response.content.decode()
    assert '<strong data-total="5">5</strong> items in this folder and its subfolders' in body
    assert [(f.name, f.item_count) for f in response.context["subfolders"]] == [("2024", 4)]
    sub = login(owner).get(reverse("projects:folder", args=["acme", tree["sub"].pk])).context
    assert sub["total"] == 4 and [(f.name, f.item_count) for f in sub["subfolders"]] == [("march", 3)]


def test_folder_counts_agree_with_the_explorer_in_a_fixed_number_of_queries(tree, workspace, django_assert_num_queries):
    from metadata_site.explorer import query as filters
    from metadata_site.explorer import selectors
    from metadata_site.projects.selectors import folder_subtree_counts
    from metadata_site.schemas.selectors import schema_current

    for n in range(4):
        make_item(make_folder(workspace, f"day{n}", parent=tree["sub"]), f"d{n}.jpg")
    with django_assert_num_queries(2):
        counts = folder_subtree_counts([tree["root"], tree["sub"]], workspace=workspace)
    schema = schema_current(workspace=workspace)
    for folder in (tree["root"], tree["sub"]):
        query = filters.Query(scope=filters.Scope("folder", folder.pk))
        assert counts[folder.pk] == selectors.count(query, schema=schema, workspace=workspace) == 5


def test_folder_counts_past_the_cap_read_no_further_and_say_more_than(tree, workspace, login, viewer, owner,
                                                                      monkeypatch):
    from metadata_site.projects import selectors

    for n in range(3):
        make_item(tree["root"], f"extra{n}.jpg")
    monkeypatch.setattr(selectors, "FOLDER_COUNT_CAP", 2)
    counts = selectors.folder_subtree_counts([tree["root"], tree["sub"]], workspace=workspace, cap=2)
    assert counts == {tree["root"].pk: 3, tree["sub"].pk: 1}  # 4 and 1 items: the first stops at cap + 1
    home = login(viewer).get(reverse("workspaces:home", args=["acme"])).content.decode()
    assert "more than 2</td>" in home
    page = login(owner).get(reverse("projects:folder", args=["acme", tree["root"].pk])).content.decode()
    assert "<strong>More than 2</strong> items in this folder and its subfolders" in page


def test_a_folder_page_past_the_cap_pages_without_counting_every_item(tree, workspace, login, owner, monkeypatch):
    from metadata_site.projects import selectors
    from metadata_site.projects import views as project_views

    for n in range(4):
        make_item(tree["root"], f"many{n}.jpg")
    monkeypatch.setattr(selectors, "FOLDER_COUNT_CAP", 2)
    monkeypatch.setattr(project_views, "ITEMS_PER_PAGE", 1)
    response = login(owner).get(reverse("projects:folder", args=["acme", tree["root"].pk]), {"page": 2})
    body = response.content.decode()
    assert "Page 2 · more than 2 items" in body
    assert response.context["page"].paginator.count == 3  # 4 direct items, read no further than cap + 1
