"""The pages a user lives in, in real Chromium: an axe-core pass (the engine of Lighthouse's accessibility
audit) finds no serious or critical violation, nothing scrolls sideways at a phone's width (390 px), and
keyboard focus is visible."""

import os
from pathlib import Path

import axe_playwright_python
import pytest

from metadata_site.items.services import item_metadata_write
from metadata_site.workspaces.models import Role
from tests.factories import make_folder, make_item, make_project, make_schema, make_user, make_workspace
from tests.imports.helpers import run_import

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_JS = Path(axe_playwright_python.__file__).parent / "axe.min.js"
PHONE = {"width": 390, "height": 844}
SHOTS = os.environ.get("A11Y_SHOTS")  # a folder: keep a screenshot of every page checked


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # axe is injected as a script tag, which the app's CSP (script-src 'self') would refuse.
    return {**browser_context_args, "bypass_csp": True}


@pytest.fixture
def world(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    user = make_user("alice")
    workspace = make_workspace("acme", members={user: Role.ADMIN})
    make_schema(workspace, [
        {"name": "weather", "type": "enum", "options": ["Sunny", "Rain", "Fog"], "description": "Sky"},
        {"name": "colors", "type": "enum", "options": ["red", "blue"], "is_multi": True},
        {"name": "temperature", "type": "float", "unit": "°C"},
        {"name": "captured_at", "type": "datetime"},
        {"name": "dark", "type": "boolean"},
        {"name": "source", "type": "link"},
    ])
    folder = make_folder(workspace, "fleet")
    items = [
        make_item(folder, f"img_{n}.jpg", metadata={
            "weather": ["Sunny", "Rain", "Fog"][n % 3], "colors": ["red"], "temperature": 10.5 + n,
            "captured_at": f"2024-05-0{n + 1}T12:00:00Z", "dark": n % 2 == 0, "source": "https://example.org/a",
        })
        for n in range(6)
    ]
    change = item_metadata_write(workspace=workspace, user=user, updates={items[0].pk: {"weather": "Rain"}},
                                 mode="merge", description="Rain on img_0")
    project = make_project(workspace, "Roads", readme="# Roads\n\nStreet scenes.", custom_data={"owner": "ml"})
    task = run_import(workspace, user, "title,dark\nimg_0.jpg,true\nnope.jpg,maybe\n", "rows.csv",
                      target={"folder": folder.pk}, dry_run=True)
    return {"user": user, "folder": folder, "item": items[0], "project": project, "change": change.change_set,
            "task": task}


def _pages(world) -> dict[str, str]:
    return {
        "home": "/w/acme/",
        "explorer": "/w/acme/explore/",
        "explorer-table": "/w/acme/explore/?view=table&f=weather:in:Sunny,Rain",
        "info": f"/w/acme/projects/{world['project'].pk}/info/",
        "schema": "/w/acme/schema/",
        "schema-import": "/w/acme/schema/import/",
        "item": f"/w/acme/items/{world['item'].uid}/",
        "folder": f"/w/acme/folders/{world['folder'].pk}/",
        "changes": "/w/acme/changes/",
        "change": f"/w/acme/changes/{world['change'].pk}/",
        "tasks": "/w/acme/tasks/",
        "task": f"/w/acme/tasks/{world['task'].pk}/",
        "import": "/w/acme/tasks/new/",
        "collections": "/w/acme/collections/",
        "duplicates": "/w/acme/duplicates/",
        "settings": "/accounts/settings/",
    }


def _open(page, url: str, name: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}-{page.viewport_size['width']}.png", full_page=True)


def _serious_violations(page) -> list[str]:
    # Closed <details> (the item's editors, the Info tab's) hide controls that axe would not check.
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_axe_finds_no_serious_or_critical_violation(live_server, browser_login, world):
    page = browser_login(world["user"])
    found = {}
    for name, path in _pages(world).items():
        _open(page, live_server.url + path, name)
        problems = _serious_violations(page)
        if problems:
            found[name] = problems
    # The bulk edit's pages: the form kept with an error beside its input, then the preview.
    _open(page, live_server.url + _pages(world)["folder"], "bulk")
    page.check(f"input.pick[value='{world['item'].uid}']")
    page.select_option("#id_bulk_field", "weather")
    page.click("#bulk-edit-form button[type=submit]")
    page.wait_for_selector("#bulk-value-error")
    found["bulk-error"] = _serious_violations(page)
    page.select_option("#id_bulk_value", "Fog")
    page.click("#bulk-edit-form button[type=submit]")
    page.wait_for_selector("#bulk-preview")
    found["bulk-preview"] = _serious_violations(page)
    found = {name: problems for name, problems in found.items() if problems}
    assert not found, "\n".join(f"{name}: {problem}" for name, problems in found.items() for problem in problems)


def test_no_page_scrolls_sideways_at_a_phones_width(live_server, browser_login, world):
    page = browser_login(world["user"])
    page.set_viewport_size(PHONE)
    wide = {}
    for name, path in _pages(world).items():
        _open(page, live_server.url + path, name)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide[name] = width
    assert not wide, f"pages wider than {PHONE['width']} px: {wide}"


def test_keyboard_focus_is_visible(live_server, browser_login, world):
    page = browser_login(world["user"])
    _open(page, f"{live_server.url}/w/acme/schema/", "focus")
    page.keyboard.press("Tab")
    outline = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert outline[0] != "none" and outline[1] != "0px"
