"""The XSS corpus in a real Chromium: no page runs a payload (no dialog, no `window.__xss`) and no inline
script is even attempted (a CSP violation in the console would mean a payload reached the DOM as markup)."""

import pytest

from tests.security.xss import build_hostile_world, page_urls

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_no_payload_runs_in_the_browser(live_server, browser_login):
    owner, objects = build_hostile_world()
    page = browser_login(owner)
    dialogs: list[str] = []
    violations: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    for url in page_urls(objects):
        page.goto(f"{live_server.url}{url}")
        page.wait_for_load_state("networkidle")
        page.mouse.move(5, 5)
        page.mouse.move(300, 300)
        assert page.evaluate("window.__xss") is None, url
    assert not dialogs, dialogs
    assert not violations, violations


def test_the_check_can_fail(live_server, browser_login):
    """An inline script the page did not escape is reported: CSP blocks it and logs a violation."""
    owner, _ = build_hostile_world()
    page = browser_login(owner)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{live_server.url}/w/acme/")
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"window.__xss=1\">')")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None
    assert violations
