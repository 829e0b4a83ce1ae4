"""Metadata before a schema, in real Chromium: filter an undeclared key, infer a schema and apply it."""

import pytest

from metadata_site.schemas.selectors import schema_current
from metadata_site.workspaces.models import Role, Workspace
from tests.factories import make_folder, make_item, make_schema, make_user, make_workspace

from . import test_explorer
from .test_explorer import _open, _titles, _total

page_as = test_explorer.page_as  # the explorer tests' login fixture (thumbnails answered by the browser)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def user():
    user = make_user("alice")
    ws = make_workspace("acme", members={user: Role.EDITOR})
    make_schema(ws, [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]}])
    folder = make_folder(ws, "incoming")
    for n in range(6):
        make_item(folder, f"img_{n:02d}.jpg", metadata={"group-id": "AB"[n % 2], "size": n, "weather": "Sunny"})
    return user


def test_it_filters_an_undeclared_key_from_the_sidebar(live_server, page_as, user):
    page = page_as(user)
    _open(page, f"{live_server.url}/w/acme/explore/")
    page.wait_for_selector("#undeclared [data-key='group-id']")
    assert "string 6" in page.inner_text("#undeclared [data-key='group-id']")
    assert "declaring the field makes it fast" in page.inner_text("#undeclared-note")
    page.select_option("select[name='uop.group-id']", "eq")
    page.fill("input[name='uv.group-id']", "A")
    page.click("#filters button[type=submit] >> nth=0")
    page.wait_for_selector(".chip:has-text('group-id = A')")
    assert "f=group-id%3Aeq%3AA" in page.url
    assert _total(page) == 3
    assert sorted(_titles(page)) == ["img_00.jpg", "img_02.jpg", "img_04.jpg"]
    page.wait_for_selector("#undeclared [data-key='size']")
    page.select_option("select[name='uop.size']", "gt")
    page.fill("input[name='uv.size']", "1")
    page.click("#filters button[type=submit] >> nth=0")
    page.wait_for_selector(".chip:has-text('size > 1.0')")
    assert _total(page) == 2


def test_it_infers_a_schema_and_applies_it(live_server, page_as, user):
    page = page_as(user)
    _open(page, f"{live_server.url}/w/acme/explore/")
    page.click("#undeclared a:has-text('infer a schema')")
    page.wait_for_selector("#inference")
    assert "group-id" in page.inner_text("#schema-diff") and "Added (2)" in page.inner_text("#schema-diff")
    page.click("button:has-text('Confirm: make this schema version 2')")
    page.wait_for_url("**/schema/")
    ws = Workspace.objects.get(slug="acme")
    schema = schema_current(workspace=ws)
    assert schema.version == 2 and schema.get("group-id").options == ("A", "B")
    assert schema.get("size").type == "integer"
    # now declared: the sidebar has the enum's checkboxes, and nothing is left "found in the data"
    _open(page, f"{live_server.url}/w/acme/explore/")
    page.wait_for_selector("input[name='in.group-id'][value=A]")
    page.wait_for_selector("#undeclared-note:has-text('is declared')")


def test_it_opens_a_videos_keyframes_and_explores_them(live_server, page_as, user):
    from metadata_site.items.models import Item, ItemKind
    from metadata_site.items.services import video_keyframes_sync

    ws = Workspace.objects.get(slug="acme")
    folder = make_folder(ws, "videos")
    video = make_item(folder, "drive.mp4", kind=ItemKind.VIDEO, metadata={"keyframes": [10, 250]})
    video_keyframes_sync(workspace=ws, item_ids=[video.pk])
    Item.objects.filter(parent=video, frame_index=250).update(client_metadata={"weather": "Rain"})
    page = page_as(user)
    _open(page, f"{live_server.url}/w/acme/items/{video.uid}/")
    assert page.locator("#keyframes .chip").all_inner_texts() == ["frame 10", "frame 250"]
    assert page.locator("#frames a").all_inner_texts() == ["drive.mp4 · frame 10", "drive.mp4 · frame 250"]
    page.click("#frames a:has-text('frame 250')")
    page.wait_for_selector("h1:has-text('drive.mp4 · frame 250')")
    assert "Rain" in page.inner_text("#declared-fields")
    page.go_back()
    page.click("#explore-keyframes")
    page.wait_for_selector(f".chip:has-text('frame of {video.uid}')")
    assert _total(page) == 2
    assert sorted(_titles(page)) == ["drive.mp4 · frame 10", "drive.mp4 · frame 250"]
    page.check("input[name='kind'][value=frame]")
    page.click("#filters button[type=submit] >> nth=0")
    page.wait_for_selector(".chip:has-text('kind in frame')")
    assert _total(page) == 2


def test_it_renames_a_field_and_undoes_it(live_server, page_as, user):
    from metadata_site.items.models import Item

    page = page_as(user)
    _open(page, f"{live_server.url}/w/acme/schema/")
    page.click("tr[data-field=weather] a:has-text('Rename')")
    page.fill("input[name=new_name]", "sky")
    page.click("button:has-text('Rename')")
    page.wait_for_selector("#progress:has-text('Completed')")
    assert "6 of 6 items moved" in page.inner_text("#progress")
    assert Item.objects.filter(client_metadata__sky="Sunny").count() == 6
    # the explorer filters by the new name
    _open(page, f"{live_server.url}/w/acme/explore/?f=sky:eq:Sunny")
    assert _total(page) == 6
    page.goto(f"{live_server.url}/w/acme/schema/")
    assert page.locator("tr[data-field=sky]").count() == 1
    page.goto(page.url.replace("/schema/", "/changes/"))
    page.click("a:has-text('Renamed field weather to sky')")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#change-status button:has-text('Undo')")
    page.wait_for_selector("#change-status:has-text('undone')")
    assert Item.objects.filter(client_metadata__weather="Sunny").count() == 6
    page.goto(f"{live_server.url}/w/acme/schema/")
    assert page.locator("tr[data-field=weather]").count() == 1 and page.locator("tr[data-field=sky]").count() == 0
