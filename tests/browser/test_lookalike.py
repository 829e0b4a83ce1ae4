"""Look-alikes in real Chromium. Find similar: from the viewer, "Similar items" opens the explorer sorted by
distance to the item, the item itself first with distance 0, then its real edited copies before unrelated pictures.
Near-duplicates: an editor starts the search on the duplicates page and sees the group, the original first."""

import pytest

from metadata_site.workspaces.models import Role
from tests.factories import make_folder, make_user, make_workspace
from tests.media.helpers import uploaded
from tests.media.lookalike_images import edited_copies, jpeg, scene

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_similar_items_from_the_viewer_lists_the_item_first_with_distance_0(live_server, browser_login):
    alice = make_user("alice")
    workspace = make_workspace("acme", members={alice: Role.VIEWER})
    folder = make_folder(workspace, "pictures")
    for n in (1, 2):
        uploaded(workspace, jpeg(scene(n)), f"other-{n}.jpg", folder=folder)
    original = uploaded(workspace, jpeg(scene(0)), "original.jpg", folder=folder)
    uploaded(workspace, edited_copies(scene(0))["resized"], "resized.jpg", folder=folder)

    page = browser_login(alice)
    page.goto(f"{live_server.url}/w/acme/items/{original.uid}/")
    page.click("#similar-items")
    page.wait_for_url(lambda url: f"similar_to={original.uid}" in url)
    caps = page.locator("#grid .thumb .cap")
    assert caps.count() == 4
    assert caps.nth(0).inner_text().startswith("original.jpg")
    assert "distance 0.0" in caps.nth(0).inner_text()
    assert caps.nth(1).inner_text().startswith("resized.jpg")
    # The first tile's real thumbnail loads (waited for: the page may still be fetching it).
    page.wait_for_function(
        "() => { const img = document.querySelector('#grid .thumb img'); return img && img.complete && img.naturalWidth > 0; }"
    )


def test_an_editor_finds_near_duplicates_and_sees_the_group(live_server, browser_login):
    bob = make_user("bob")
    workspace = make_workspace("acme", members={bob: Role.EDITOR})
    folder = make_folder(workspace, "pictures")
    original = uploaded(workspace, jpeg(scene(0)), "original.jpg", folder=folder)
    for name, data in edited_copies(scene(0)).items():
        uploaded(workspace, data, f"{name}.img", folder=folder)
    uploaded(workspace, jpeg(scene(1)), "other.jpg", folder=folder)

    page = browser_login(bob)
    page.goto(f"{live_server.url}/w/acme/duplicates/")
    assert page.locator("#no-duplicates").is_visible()
    page.click("#find-duplicates")
    page.locator(".dup-group").wait_for()
    group = page.locator(".dup-group")
    assert group.count() == 1 and "4 items" in group.locator("h2").inner_text()
    assert group.locator(".thumb .cap").first.inner_text().startswith(original.title)
    assert "other.jpg" not in page.content()
    assert "Last search: 1 group of 4 items" in page.locator("#dup-scan").inner_text()


def test_an_editor_collects_the_near_duplicates_but_one_and_sees_them_in_the_explorer(live_server, browser_login):
    bob = make_user("bob")
    workspace = make_workspace("acme", members={bob: Role.EDITOR})
    folder = make_folder(workspace, "pictures")
    original = uploaded(workspace, jpeg(scene(0)), "original.jpg", folder=folder)
    copies = [uploaded(workspace, data, f"{name}.img", folder=folder)
              for name, data in edited_copies(scene(0)).items()]
    uploaded(workspace, jpeg(scene(1)), "other.jpg", folder=folder)

    page = browser_login(bob)
    page.goto(f"{live_server.url}/w/acme/duplicates/")
    page.click("#find-duplicates")
    page.locator("#dup-actions").wait_for()
    assert f"All but one per group: {len(copies)} items" in page.inner_text("#dup-actions h2")
    page.fill("#dup-collect input[name=title]", "Copies to review")
    page.click("#dup-collect button[type=submit]")
    page.wait_for_url(lambda url: "scope=collection:" in url)
    titles = sorted(t.split("\n")[0] for t in page.locator("#grid .thumb .cap").all_inner_texts())
    assert titles == sorted(c.title for c in copies)
    assert original.title not in titles
    page.wait_for_function(  # real thumbnails of the copies
        "() => [...document.querySelectorAll('#grid .thumb img')].every(i => i.complete && i.naturalWidth > 0)"
    )


def test_similar_by_an_embedding_field_from_the_viewer_lists_the_nearest_vectors(live_server, browser_login):
    from metadata_site.items.services import MODE_MERGE, item_metadata_write
    from tests.factories import make_item, make_schema

    alice = make_user("alice")
    workspace = make_workspace("acme", members={alice: Role.VIEWER})
    make_schema(workspace, [{"name": "clip", "type": "embedding", "dimension": 3, "distance": "cosine"}])
    folder = make_folder(workspace, "pictures")
    vectors = {"query": [1, 0, 0], "near": [0.9, 0.1, 0], "middle": [0.5, 0.5, 0], "far": [0, 0, 1]}
    items = {name: make_item(folder, f"{name}.jpg") for name in vectors}
    item_metadata_write(workspace=workspace, user=alice, mode=MODE_MERGE,
                        updates={items[n].pk: {"clip": v} for n, v in vectors.items()})

    page = browser_login(alice)
    page.goto(f"{live_server.url}/w/acme/items/{items['query'].uid}/")
    button = page.locator(".similar-by")
    assert "3-d vector" in button.inner_text() and page.locator(".similar-by svg polyline").count() == 1
    button.click()
    page.wait_for_url(lambda url: "by=clip" in url)
    caps = page.locator("#grid .thumb .cap")
    assert [caps.nth(n).inner_text().split()[0] for n in range(4)] == ["query.jpg", "near.jpg", "middle.jpg", "far.jpg"]
    assert "distance 0.0" in caps.nth(0).inner_text() and "distance 1.0" in caps.nth(3).inner_text()


def test_find_similar_by_an_uploaded_picture_lists_that_picture_first(live_server, browser_login):
    """The explorer's "Find images like this file" form: a real JPEG uploaded from the browser; the item made
    from the same picture comes first (distance 0.0), its edited copy next, the unrelated pictures after."""
    alice = make_user("alice")
    workspace = make_workspace("acme", members={alice: Role.VIEWER})
    folder = make_folder(workspace, "pictures")
    picture = jpeg(scene(0))
    for n in (1, 2, 3):
        uploaded(workspace, jpeg(scene(n)), f"other-{n}.jpg", folder=folder)
    uploaded(workspace, edited_copies(scene(0))["requality"], "requality.jpg", folder=folder)
    uploaded(workspace, picture, "original.jpg", folder=folder)

    page = browser_login(alice)
    page.goto(f"{live_server.url}/w/acme/explore/")
    page.set_input_files("#similar-upload input[type=file]",
                         files=[{"name": "query.jpg", "mimeType": "image/jpeg", "buffer": picture}])
    page.click("#similar-upload button[type=submit]")
    page.wait_for_url(lambda url: "similar_to=image" in url)
    caps = page.locator("#grid .thumb .cap")
    assert caps.count() == 5
    assert caps.nth(0).inner_text().startswith("original.jpg") and "distance 0.0" in caps.nth(0).inner_text()
    assert caps.nth(1).inner_text().startswith("requality.jpg")
    page.wait_for_function(
        "() => { const img = document.querySelector('#grid .thumb img'); return img && img.complete && img.naturalWidth > 0; }"
    )


def test_an_editor_groups_near_duplicates_by_an_embedding_field_and_filters_the_representatives(
        live_server, browser_login):
    """The duplicates page's source and threshold: a bad threshold shows its reason; an embedding field and a
    cosine distance group the vectors planted near each other, the page says what it compared; the explorer's
    "Near-duplicates" choice then lists the representatives only."""
    from metadata_site.items.services import MODE_MERGE, item_metadata_write
    from tests.factories import make_item, make_schema

    bob = make_user("bob")
    workspace = make_workspace("acme", members={bob: Role.EDITOR})
    make_schema(workspace, [{"name": "clip", "type": "embedding", "dimension": 3, "distance": "cosine"}])
    folder = make_folder(workspace, "pictures")
    vectors = {"a": [1, 0, 0], "a-copy": [1, 0.001, 0], "b": [0, 1, 0], "b-copy": [0, 1, 0.002], "c": [0, 0, 1]}
    items = {name: make_item(folder, f"{name}.jpg") for name in vectors}
    item_metadata_write(workspace=workspace, user=bob, mode=MODE_MERGE,
                        updates={items[n].pk: {"clip": v} for n, v in vectors.items()})

    page = browser_login(bob)
    page.goto(f"{live_server.url}/w/acme/duplicates/")
    page.select_option("#dup-scan-form select[name=source]", "clip")
    page.fill("#dup-scan-form input[name=threshold]", "3")
    page.click("#find-duplicates")
    assert "a cosine distance (1 - cos) is at most 2 (got 3)" in page.locator(".dup-scan-error").inner_text()
    page.fill("#dup-scan-form input[name=threshold]", "0.01")
    page.click("#find-duplicates")
    page.locator(".dup-group").first.wait_for()
    assert page.locator(".dup-group").count() == 2
    assert "2 groups of 4 items" in page.locator("#dup-scan").inner_text()
    assert page.locator("#dup-compared").inner_text() == "the embedding “clip”, within a distance of 0.01"
    assert page.locator("#dup-scan-form select[name=source]").input_value() == "clip"

    page.goto(f"{live_server.url}/w/acme/explore/")
    page.select_option("#w-dup", "representative")
    page.wait_for_url(lambda url: "dup_role" in url)
    page.wait_for_function("() => document.querySelectorAll('#grid .thumb .cap').length === 2")
    titles = sorted(t.split("\n")[0] for t in page.locator("#grid .thumb .cap").all_inner_texts())
    assert titles == ["a.jpg", "b.jpg"]
