"""Near-duplicates: real edited copies of real pictures (resized, re-encoded, slightly cropped) are grouped with
their original by the background task, unrelated pictures are not; the duplicates page lists the groups."""

import pytest
from django.urls import reverse

from metadata_site.items.models import Item
from metadata_site.media import lookalike
from metadata_site.media import tasks as media_tasks
from tests.factories import make_folder, make_workspace

from .helpers import uploaded
from .lookalike_images import edited_copies, jpeg, scene

pytestmark = pytest.mark.django_db


@pytest.fixture
def pictures(workspace):
    """Scene 0 and its three edited copies; scenes 1, 2, 3 alone."""
    folder = make_folder(workspace)
    original = uploaded(workspace, jpeg(scene(0)), "original.jpg", folder=folder)
    copies = [uploaded(workspace, data, f"{name}.img", folder=folder) for name, data in edited_copies(scene(0)).items()]
    others = [uploaded(workspace, jpeg(scene(n)), f"other-{n}.jpg", folder=folder) for n in (1, 2, 3)]
    return original, copies, others


def test_the_worker_stores_a_descriptor_for_every_image(pictures):
    original, copies, others = pictures
    for item in [original, *copies, *others]:
        assert item.phash is not None and len(bytes(item.colour)) == 256


def test_edited_copies_are_grouped_with_their_original_and_unrelated_images_are_not(workspace, pictures):
    original, copies, others = pictures
    result = media_tasks.find_duplicates.enqueue(workspace.pk).return_value
    assert result == {"groups": 1, "items": 4}
    groups = dict(Item.objects.filter(workspace=workspace).values_list("title", "dup_group"))
    assert {groups[c.title] for c in copies} == {original.pk}
    assert groups[original.title] == original.pk  # the oldest item is the representative
    assert all(groups[o.title] is None for o in others)


def test_a_new_run_clears_groups_that_no_longer_exist(workspace, pictures):
    original, copies, _ = pictures
    media_tasks.find_duplicates.enqueue(workspace.pk)
    Item.objects.filter(pk__in=[c.pk for c in copies]).delete()
    assert media_tasks.find_duplicates.enqueue(workspace.pk).return_value == {"groups": 0, "items": 0}
    assert not Item.objects.filter(workspace=workspace, dup_group__isnull=False).exists()


def test_groups_stay_inside_their_workspace(workspace, pictures):
    other_ws = make_workspace("other")
    twin = uploaded(other_ws, jpeg(scene(0)), "twin.jpg")
    media_tasks.find_duplicates.enqueue(other_ws.pk)
    media_tasks.find_duplicates.enqueue(workspace.pk)
    twin.refresh_from_db()
    assert twin.dup_group is None
    assert not Item.objects.filter(workspace=workspace, dup_group=twin.pk).exists()


def test_hashes_within_seven_bits_are_found_whatever_bytes_differ():
    """Multi-index hashing is exact up to 7 bits: flipping 7 bits spread over 7 different bytes still pairs."""
    ws = make_workspace("bits")
    folder = make_folder(ws)
    base = 0x0123456789ABCDEF
    flipped = base ^ sum(1 << (8 * n + n) for n in range(7))  # one bit in each of bytes 0..6
    far = base ^ sum(1 << (8 * n) for n in range(8))  # 8 bits: not a near-duplicate
    from metadata_site.media.descriptor import to_signed
    from tests.factories import make_item

    a, b, c = (make_item(folder, t, phash=to_signed(h)) for t, h in (("a", base), ("b", flipped), ("c", far)))
    groups = lookalike.duplicate_groups_compute(workspace=ws)
    assert groups == {a.pk: a.pk, b.pk: a.pk}
    assert c.pk not in groups


@pytest.mark.parametrize("who, status", [("owner", 200), ("member", 200), ("stranger", 404)])
def test_the_duplicates_page_shows_groups_to_members_only(who, status, request, login, workspace, pictures):
    original, copies, _ = pictures
    media_tasks.find_duplicates.enqueue(workspace.pk)
    resp = login(request.getfixturevalue(who)).get(reverse("media:duplicates", args=["acme"]))
    assert resp.status_code == status
    if status == 200:
        html = resp.content.decode()
        assert "4 items" in html and html.index("original.jpg") < html.index("resized.img")
        assert "other-1.jpg" not in html


@pytest.mark.parametrize("who, status", [("owner", 302), ("member", 403), ("stranger", 404)])
def test_finding_duplicates_again_is_for_editors(who, status, request, login, workspace, pictures,
                                                django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        resp = login(request.getfixturevalue(who)).post(reverse("media:duplicates-refresh", args=["acme"]))
    assert resp.status_code == status
    found = Item.objects.filter(workspace=workspace, dup_group__isnull=False).count()
    assert found == (4 if status == 302 else 0)


def test_the_explorer_filters_items_that_have_near_duplicates(login, owner, workspace, pictures):
    original, copies, others = pictures
    media_tasks.find_duplicates.enqueue(workspace.pk)
    resp = login(owner).get(reverse("explorer:explore", args=["acme"]), {"f": "$dup_group:is_set"})
    assert resp.status_code == 200
    assert {row["item"].title for row in resp.context["rows"]} == {original.title, *(c.title for c in copies)}
    resp = login(owner).get(reverse("explorer:explore", args=["acme"]), {"f": f"$dup_group:eq:{original.pk}"})
    assert len(resp.context["rows"]) == 4


def test_the_search_reports_its_progress_while_reading_and_comparing(monkeypatch, workspace, pictures):
    monkeypatch.setattr(lookalike, "SCAN_BATCH", 2)
    seen: list[int] = []
    lookalike.duplicate_groups_compute(workspace=workspace, progress=seen.append)
    assert seen == sorted(seen) and seen[0] <= 40 and seen[-1] == 90 and len(seen) == 4 + 4  # 7 items read 2 a query, then 4 chunks


def test_the_page_shows_the_queued_search_then_its_result(login, editor, workspace, pictures, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    client = login(editor)
    url = reverse("media:duplicates", args=["acme"])
    client.post(reverse("media:duplicates-refresh", args=["acme"]))
    html = client.get(url).content.decode()
    assert 'data-status="QUEUED"' in html and "Queued" in html and 'hx-trigger="every 1s"' in html
    media_tasks.find_duplicates.call(workspace.pk)
    html = client.get(url).content.decode()
    assert "Last search: 1 group of 4 items" in html and "every 1s" not in html
