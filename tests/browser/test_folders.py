"""Folder counts in real Chromium: the workspace home, a folder page and the explorer agree."""

import pytest

from metadata_site.workspaces.models import Role
from tests.factories import make_folder, make_image_group, make_item, make_user, make_workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def tree():
    user = make_user("alice")
    ws = make_workspace("acme", members={user: Role.VIEWER})
    fleet = make_folder(ws, "fleet")
    day = make_folder(ws, "day", parent=fleet)
    dusk = make_folder(ws, "dusk", parent=day)
    make_item(fleet, "top.jpg")
    for n in range(3):
        make_item(day, f"day_{n}.jpg")
    make_image_group(dusk, "burst", frames=2)  # a group and its 2 frames: 3 items, as the explorer counts
    return {"user": user, "fleet": fleet, "day": day}


def _explorer_total(page, url):
    page.goto(url)
    page.wait_for_selector("#total [data-total]")
    return int(page.get_attribute("#total [data-total]", "data-total"))


def test_home_folder_page_and_explorer_count_a_folder_with_its_subfolders(live_server, browser_login, tree):
    page = browser_login(tree["user"])
    base = f"{live_server.url}/w/acme"
    page.goto(f"{base}/")
    row = page.locator("#folders tr", has_text="fleet")
    assert row.locator("td").nth(1).inner_text() == "7"
    assert _explorer_total(page, f"{base}/explore/?scope=folder:{tree['fleet'].pk}") == 7

    page.goto(f"{base}/folders/{tree['fleet'].pk}/")
    assert page.get_attribute("#folder-total [data-total]", "data-total") == "7"
    sub = page.locator("#subfolders tr", has_text="day")
    assert sub.locator("td").nth(1).inner_text() == "6"
    sub.locator("a").click()
    page.wait_for_selector("#subfolders")
    assert page.get_attribute("#folder-total [data-total]", "data-total") == "6"
    assert page.locator("#subfolders tr", has_text="dusk").locator("td").nth(1).inner_text() == "3"
    assert _explorer_total(page, f"{base}/explore/?scope=folder:{tree['day'].pk}") == 6
