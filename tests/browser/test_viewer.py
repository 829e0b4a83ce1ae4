"""The viewer in real Chromium: opened from the explorer grid, zoom (buttons and wheel) and pan, ← / → through
the explorer's result in its sort order, Esc back to the grid at the same place, an image group's frame strip."""

import pytest

from metadata_site.workspaces.models import Role
from tests.factories import make_folder, make_image_group, make_item, make_schema, make_user, make_workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alice():
    user = make_user("alice")
    ws = make_workspace("acme", members={user: Role.EDITOR})
    make_schema(ws, [{"name": "temperature", "type": "float"}])
    folder = make_folder(ws, "cams")
    for n in range(8):
        make_item(folder, f"img_{n:02d}.jpg", metadata={"temperature": float((n * 5) % 8)})
    return user


def _zoom(page) -> float:
    return float(page.get_attribute("#stage", "data-zoom"))


def test_open_zoom_pan_step_with_the_arrow_keys_and_go_back_with_esc(live_server, browser_login, alice):
    page = browser_login(alice)
    page.goto(f"{live_server.url}/w/acme/explore/?sort=-temperature")
    titles = page.locator("#grid .thumb .cap").all_inner_texts()
    page.click("#grid .thumb:nth-child(3) .thumb-link")
    page.wait_for_selector("#stage[data-zoom]")
    assert page.inner_text(".viewer-bar h1").startswith(titles[2])

    fitted = _zoom(page)
    page.click("button[data-zoom=in]")
    assert _zoom(page) == pytest.approx(fitted * 1.25, rel=0.01)
    box = page.locator("#stage").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -200)
    page.wait_for_function("z => parseFloat(document.getElementById('stage').dataset.zoom) > z", arg=fitted * 1.3)
    before = page.eval_on_selector("#stage-inner", "el => el.style.transform")
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2 + 30, steps=4)
    page.mouse.up()
    assert page.eval_on_selector("#stage-inner", "el => el.style.transform") != before

    page.keyboard.press("ArrowRight")
    page.wait_for_function("t => document.querySelector('.viewer-bar h1').textContent.startsWith(t)", arg=titles[3])
    assert "sort=-temperature" in page.url
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("t => document.querySelector('.viewer-bar h1').textContent.startsWith(t)", arg=titles[2])
    page.keyboard.press("Escape")
    page.wait_for_selector("#grid")
    assert "/explore/?" in page.url and "sort=-temperature" in page.url and "#item-" in page.url
    assert page.locator("#grid .thumb .cap").all_inner_texts() == titles
    assert page.locator(f"#{page.url.split('#')[1]} .cap").inner_text() == titles[2]


def test_the_first_item_has_no_previous_and_typing_in_the_metadata_form_does_not_step(live_server, browser_login, alice):
    page = browser_login(alice)
    page.goto(f"{live_server.url}/w/acme/explore/?sort=title")
    page.click("#grid .thumb:nth-child(1) .thumb-link")
    page.wait_for_selector("#viewer")
    url = page.url
    page.keyboard.press("ArrowLeft")
    page.wait_for_timeout(200)
    assert page.url == url
    page.click("text=Edit fields")
    page.focus("input[data-field=temperature]")
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(200)
    assert page.url == url


def test_step_through_an_image_groups_frames(live_server, browser_login, alice):
    folder = make_folder(alice.memberships.get().workspace, "rigs")
    group = make_image_group(folder, "rig_001", frames=4)
    for frame in group.frames.all():
        frame.client_metadata = {"temperature": float(frame.frame_index) + 0.5}
        frame.save()
    page = browser_login(alice)
    page.goto(f"{live_server.url}/w/acme/items/{group.uid}/")
    page.wait_for_selector("#frames .frame-tile")
    assert page.locator("#frames .frame-tile").count() == 4
    first_src = page.get_attribute("#stage-img", "src")
    page.click("#frames .frame-tile:nth-child(3)")
    assert page.get_attribute("#stage-img", "src") != first_src
    assert page.locator("[data-frame-meta='2']").is_visible() and not page.locator("[data-frame-meta='0']").is_visible()
    assert "2.5" in page.inner_text("[data-frame-meta='2']")
    page.keyboard.press("ArrowDown")
    assert page.locator("[data-frame-meta='3']").is_visible()
    assert page.get_attribute("#frames", "data-current") == "3"


def test_the_tile_size_is_remembered_and_hovering_a_tile_shows_its_fields(live_server, browser_login, alice):
    page = browser_login(alice)
    page.goto(f"{live_server.url}/w/acme/explore/")
    page.wait_for_selector("#tile-size")
    small = page.eval_on_selector("#grid .thumb", "t => t.getBoundingClientRect().width")
    page.fill("#tile-size", "320")
    page.wait_for_function("() => document.getElementById('grid').style.getPropertyValue('--tile') === '320px'")
    assert page.eval_on_selector("#grid .thumb", "t => t.getBoundingClientRect().width") > small * 1.4
    page.reload()
    page.wait_for_selector("#tile-size")
    assert page.input_value("#tile-size") == "320"
    assert page.eval_on_selector("#grid .thumb", "t => t.getBoundingClientRect().width") > small * 1.4
    fields = page.locator("#grid .thumb").first.locator(".vals")
    assert fields.evaluate("el => getComputedStyle(el).opacity") == "0"
    page.locator("#grid .thumb").first.hover()
    page.wait_for_function("el => getComputedStyle(el).opacity === '1'", arg=fields.element_handle())
    assert "temperature" in fields.inner_text()
