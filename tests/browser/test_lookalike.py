"""Find similar in real Chromium: from the viewer, "Similar items" opens the explorer sorted by distance to the
item, the item itself first with distance 0, then its real edited copies before unrelated pictures."""

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
    assert page.locator("#grid .thumb img").first.evaluate("img => img.complete && img.naturalWidth > 0")
