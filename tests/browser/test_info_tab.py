"""The Info tab in real Chromium: README with live preview, the JSON editor, conflicts, history and restore."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from metadata_site.projects.models import Project
from metadata_site.projects.services import info_save_custom_data, info_save_readme
from tests.factories import PASSWORD, make_dataset, make_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _patient_expectations():
    """htmx round trips on a busy CI machine can take longer than playwright's default 5 s."""
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture
def project(workspace):
    project = make_project(workspace, "Road scenes", readme="# Road scenes", custom_data={"owner": "ml-team"})
    make_dataset(project, "train", custom_data={"split": "train"})
    return project


def _info_url(live_server, project) -> str:
    return f"{live_server.url}/w/acme/projects/{project.pk}/info/"


def _open_info(page, live_server, project):
    page.goto(_info_url(live_server, project))
    page.wait_for_selector("#info-custom-data .json-editor.ready .cm-content")
    return page


def _type_json(page, text: str) -> None:
    """Replace the custom data editor's text as a user would (select all, then type/paste)."""
    page.click("#info-custom-data .cm-content")
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.insert_text(text)


def _stored(project) -> tuple[dict, int]:
    row = Project.objects.get(pk=project.pk)
    return row.custom_data, row.custom_data_version


def _login_other(browser, live_server, user):
    page = browser.new_context().new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


def test_a_user_edits_the_readme_with_a_live_preview(live_server, browser_login, owner, project):
    page = browser_login(owner)
    _open_info(page, live_server, project)
    page.click("text=Edit README")
    page.fill("#readme-text", "# Fleet images\n\nCollected **weekly**; ~~old~~.\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    expect(page.locator("#readme-preview h1")).to_have_text("Fleet images")
    expect(page.locator("#readme-preview s")).to_have_text("old")
    expect(page.locator("#readme-preview table td").first).to_have_text("1")
    page.click("text=Save README")
    expect(page.locator("#info-readme .ok")).to_have_text("README saved as version 2.")
    expect(page.locator("#readme-rendered h1")).to_have_text("Fleet images")
    page.reload()
    expect(page.locator("#readme-rendered strong")).to_have_text("weekly")
    expect(page.locator("#info-history tbody tr").first).to_contain_text("README")


def test_invalid_custom_data_shows_line_and_column_and_saves_nothing_until_fixed(
    live_server, browser_login, owner, project
):
    page = browser_login(owner)
    _open_info(page, live_server, project)
    _type_json(page, '{\n  "owner": "cv-team"\n  "reviewed": true\n}')
    page.click("text=Save custom data")
    expect(page.locator("#custom-data-errors")).to_contain_text("Invalid JSON at line 3, column 3")
    expect(page.locator("#info-custom-data .jse-status-bar")).to_contain_text("Line: 3 Column: 3")  # the cursor
    assert _stored(project) == ({"owner": "ml-team"}, 1)

    page.wait_for_selector("#info-custom-data .json-editor.ready .cm-content")
    _type_json(page, '{\n  "owner": "cv-team",\n  "owner": "again"\n}')
    page.click("text=Save custom data")
    expect(page.locator("#custom-data-errors")).to_contain_text('Duplicate key "owner" at line 3')
    assert _stored(project) == ({"owner": "ml-team"}, 1)

    page.wait_for_selector("#info-custom-data .json-editor.ready .cm-content")
    _type_json(page, '{\n  "owner": "cv-team",\n  "reviewed": true\n}')
    page.click("text=Save custom data")
    expect(page.locator("#info-custom-data .ok")).to_have_text("Custom data saved as version 2.")
    assert _stored(project) == ({"owner": "cv-team", "reviewed": True}, 2)

    page.reload()
    editor = page.locator("#info-custom-data .json-editor.ready .cm-content")
    expect(editor).to_contain_text('"owner": "cv-team"')
    expect(editor).to_contain_text('"reviewed": true')


def test_two_pages_editing_the_same_custom_data_get_a_conflict_not_a_lost_update(
    live_server, browser, browser_login, owner, editor, project
):
    first = _open_info(browser_login(owner), live_server, project)
    second = _open_info(_login_other(browser, live_server, editor), live_server, project)

    _type_json(first, '{"owner": "first page"}')
    first.click("text=Save custom data")
    expect(first.locator("#info-custom-data .ok")).to_have_text("Custom data saved as version 2.")

    _type_json(second, '{"owner": "second page",}')  # a typo first: refused, still based on version 1
    second.click("text=Save custom data")
    expect(second.locator("#custom-data-errors")).to_contain_text("Invalid JSON at line 1, column 25")
    second.wait_for_selector("#info-custom-data .json-editor.ready .cm-content")
    _type_json(second, '{"owner": "second page"}')
    second.click("text=Save custom data")
    conflict = second.locator("#info-custom-data .conflict")
    expect(conflict).to_contain_text("Someone saved a newer version of this custom data (version 2)")
    expect(conflict.locator(".conflict-who")).to_have_text("owner")
    expect(conflict.locator(".conflict-value")).to_contain_text('"owner": "first page"')
    assert _stored(project) == ({"owner": "first page"}, 2)

    second.click("text=Save mine over version 2")
    expect(second.locator("#info-custom-data .ok")).to_have_text("Custom data saved as version 3.")
    assert _stored(project) == ({"owner": "second page"}, 3)


def test_a_user_diffs_and_restores_an_older_revision(live_server, browser_login, owner, project):
    info_save_custom_data(obj=project, data={"owner": "v2"}, user=owner, base_version=None)
    info_save_custom_data(obj=project, data={"owner": "v3"}, user=owner, base_version=None)
    page = browser_login(owner)
    page.on("dialog", lambda dialog: dialog.accept())
    _open_info(page, live_server, project)
    row = page.locator('#info-history tr[data-kind="custom_data"][data-version="2"]')
    row.locator("text=Diff with current").click()
    expect(page.locator("#info-diff .diff-del")).to_have_text('-  "owner": "v2"')
    expect(page.locator("#info-diff .diff-add")).to_have_text('+  "owner": "v3"')
    row.locator("button.restore").click()
    expect(page.locator(".messages")).to_contain_text("Restored Custom data version 2 as version 4.")
    assert _stored(project) == ({"owner": "v2"}, 4)
    expect(page.locator('#info-history tr[data-version="4"]')).to_contain_text("restored from v2")
    expect(page.locator("#info-custom-data .cm-content")).to_contain_text('"owner": "v2"')


def test_a_script_in_the_readme_does_not_run_and_is_shown_escaped(live_server, browser_login, owner, project):
    info_save_readme(
        obj=project,
        text='Hello <script>window.__xss = 1</script>\n\n<img src=x onerror="window.__xss = 2">\n\n[x](javascript:window.__xss=3)',
        user=owner,
        base_version=None,
    )
    page = browser_login(owner)
    _open_info(page, live_server, project)
    expect(page.locator("#readme-rendered")).to_contain_text("<script>window.__xss = 1</script>")
    assert page.locator("#readme-rendered script, #readme-rendered img").count() == 0
    page.click("text=Edit README")
    page.fill("#readme-text", "Preview <script>window.__xss = 4</script> <img src=x onerror='window.__xss=5'>")
    expect(page.locator("#readme-preview")).to_contain_text("<script>window.__xss = 4</script>")
    page.click("#readme-rendered")  # a click would fire a javascript: link if one had survived
    assert page.evaluate("window.__xss") is None


def test_viewers_see_the_tab_read_only(live_server, browser_login, viewer, project):
    page = browser_login(viewer)
    _open_info(page, live_server, project)
    expect(page.locator("#info-custom-data .cm-content")).to_contain_text('"owner": "ml-team"')
    _type_json(page, '{"changed": true}')  # a read-only editor ignores typing
    expect(page.locator("#info-custom-data .cm-content")).to_contain_text('"owner": "ml-team"')
    expect(page.locator("#info-custom-data .cm-content")).not_to_contain_text("changed")
    assert page.locator("form#custom-data-form, form#readme-form, form#schema-form").count() == 0
    assert page.locator("text=Edit README").count() == 0


def test_the_tab_works_without_javascript(live_server, browser, owner, project):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(_info_url(live_server, project))
    assert page.locator(".json-editor.ready").count() == 0
    page.fill("#custom-data-text", '{"owner": NaN}')
    page.click("text=Save custom data")
    expect(page.locator("#custom-data-errors")).to_contain_text("NaN at line 1, column 11 is not allowed")
    assert _stored(project) == ({"owner": "ml-team"}, 1)
    page.fill("#custom-data-text", '{"owner": "no-js"}')
    page.click("text=Save custom data")
    expect(page.locator(".messages")).to_contain_text("Custom data saved as version 2.")
    assert _stored(project) == ({"owner": "no-js"}, 2)
    page.click("text=Edit README")
    page.fill("#readme-text", "# Plain form")
    page.click("text=Save README")
    expect(page.locator("#readme-rendered h1")).to_have_text("Plain form")
    context.close()


def test_screenshot_info_tab(live_server, browser_login, owner, project):
    target = os.environ.get("SCREENSHOTS")
    if not target:
        pytest.skip("set SCREENSHOTS=<dir> to save screenshots (make screenshots)")
    info_save_readme(obj=project, text=SCREENSHOT_README, user=owner, base_version=None)
    info_save_custom_data(obj=project, data=SCREENSHOT_DATA, user=owner, base_version=None)
    page = browser_login(owner)
    page.set_viewport_size({"width": 1280, "height": 900})
    _open_info(page, live_server, project)
    page.click("text=Edit README")
    page.wait_for_timeout(300)
    Path(target).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(target) / "info-tab.png"), full_page=True)
    assert (Path(target) / "info-tab.png").stat().st_size > 10_000


SCREENSHOT_README = """# Road scenes

Street-level images from the fleet cameras, collected for **object detection** in all weathers.

| split | images |
|-------|-------:|
| train | 1,600 |
| val   |   400 |
"""
SCREENSHOT_DATA = {
    "version": "1.0",
    "training": {"epochs": 100, "batch_size": 16, "learning_rate": 0.001},
    "model": {"architecture": "YOLOv8", "input_size": [640, 640]},
}
