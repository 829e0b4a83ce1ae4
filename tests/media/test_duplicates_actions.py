"""Acting on near-duplicate groups (media/dedupe.py and the duplicates page's two forms): all but the representative
of each group go into a new collection, or out of a dataset; editors only, a stranger gets 404, a viewer 403."""

import pytest
from django.urls import reverse

from metadata_site.collections.models import CollectionItem
from metadata_site.media import dedupe
from metadata_site.projects.models import DatasetItem
from tests.factories import make_dataset, make_folder, make_item, make_project, make_workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def groups(workspace):
    """Two groups (a of 3, b of 2) and a lone item; dup_group is the representative's id, as find_duplicates
    stores it."""
    folder = make_folder(workspace)
    a = [make_item(folder, f"a{n}.jpg") for n in range(3)]
    b = [make_item(folder, f"b{n}.jpg") for n in range(2)]
    lone = make_item(folder, "lone.jpg")
    for members in (a, b):
        for item in members:
            item.dup_group = members[0].pk
            item.save(update_fields=["dup_group"])
    return a, b, lone


def test_the_extras_are_every_grouped_item_but_the_representatives(workspace, groups):
    a, b, _ = groups
    extras = set(dedupe.duplicate_extras(workspace=workspace).values_list("pk", flat=True))
    assert extras == {a[1].pk, a[2].pk, b[1].pk}


def test_the_extras_stay_inside_their_workspace(workspace, groups):
    other = make_workspace("other")
    stray = make_item(make_folder(other), "stray.jpg")
    stray.dup_group = groups[0][0].pk  # even a (corrupt) group id of another workspace
    stray.save(update_fields=["dup_group"])
    assert stray.pk not in set(dedupe.duplicate_extras(workspace=workspace).values_list("pk", flat=True))


@pytest.mark.parametrize("who", ["owner", "editor"])
def test_an_editor_collects_all_but_one_per_group_into_a_new_collection(request, login, workspace, groups, who):
    a, b, _ = groups
    response = login(request.getfixturevalue(who)).post(
        reverse("media:duplicates-collect", args=["acme"]), {"title": "Dupes to review"})
    assert response.status_code == 302 and "scope=collection:" in response["Location"]
    held = set(CollectionItem.objects.filter(collection__title="Dupes to review").values_list("item_id", flat=True))
    assert held == {a[1].pk, a[2].pk, b[1].pk}


def test_a_viewer_is_refused_and_a_stranger_gets_404(login, member, stranger, workspace, groups, client):
    url = reverse("media:duplicates-collect", args=["acme"])
    assert login(member).post(url, {"title": "x"}).status_code == 403
    client.logout()
    assert login(stranger).post(url, {"title": "x"}).status_code == 404
    assert not CollectionItem.objects.exists()


def test_a_taken_title_is_a_clear_error_and_changes_nothing(login, owner, workspace, groups):
    client = login(owner)
    url = reverse("media:duplicates-collect", args=["acme"])
    client.post(url, {"title": "Dupes"})
    before = CollectionItem.objects.count()
    response = client.post(url, {"title": "Dupes"}, follow=True)
    assert "Dupes" in response.content.decode() and "already" in response.content.decode()
    assert CollectionItem.objects.count() == before


def test_taking_the_duplicates_out_of_a_dataset_keeps_one_per_group_and_records_it(login, owner, workspace, groups):
    a, b, lone = groups
    dataset = make_dataset(make_project(workspace), "train", items=[a[1], a[2], b[0], b[1], lone])
    response = login(owner).post(reverse("media:duplicates-out-of-dataset", args=["acme"]), {"dataset": dataset.pk},
                                 follow=True)
    assert "2 near-duplicates taken out of “train”" in response.content.decode()
    kept = set(DatasetItem.objects.filter(dataset=dataset).values_list("item_id", flat=True))
    # a's representative is not in the dataset: its smallest copy there stands for the group.
    assert kept == {a[1].pk, b[0].pk, lone.pk}
    dataset.refresh_from_db()
    [entry] = dataset.source["removed"]
    assert entry["count"] == 2 and entry["reason"] == "near-duplicates" and entry["by"] == owner.username


def test_a_dataset_of_another_workspace_is_refused_by_name(login, owner, workspace, groups):
    theirs = make_dataset(make_project(make_workspace("other")), "theirs", items=[groups[0][1]])
    response = login(owner).post(reverse("media:duplicates-out-of-dataset", args=["acme"]), {"dataset": theirs.pk},
                                 follow=True)
    assert "Choose a dataset of this workspace." in response.content.decode()
    assert DatasetItem.objects.filter(dataset=theirs).count() == 1


@pytest.mark.parametrize("who,status", [("member", 403), ("stranger", 404)])
def test_only_editors_take_items_out_of_a_dataset(request, login, workspace, groups, who, status):
    dataset = make_dataset(make_project(workspace), "train", items=groups[0])
    url = reverse("media:duplicates-out-of-dataset", args=["acme"])
    assert login(request.getfixturevalue(who)).post(url, {"dataset": dataset.pk}).status_code == status
    assert DatasetItem.objects.filter(dataset=dataset).count() == 3


def test_the_page_offers_both_actions_to_an_editor_with_the_count(login, owner, workspace, groups):
    make_dataset(make_project(workspace), "train")
    html = login(owner).get(reverse("media:duplicates", args=["acme"])).content.decode()
    assert "All but one per group: 3 items" in html and 'id="dup-collect"' in html and 'id="dup-out-of-dataset"' in html
