import httpx
import pytest

from metadata_site.workspaces.models import Role
from tests.factories import make_user, make_workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_user_creates_a_token_uses_it_and_revokes_it(live_server, browser_login):
    user = make_user("alice")
    make_workspace("acme", members={user: Role.EDITOR})
    page = browser_login(user)
    page.goto(f"{live_server.url}/accounts/settings/")
    page.fill("#id_token_name", "notebook")
    page.click("#api-tokens button[type=submit]")
    token = page.input_value("#new-token")
    assert token.startswith("msk_")

    resp = httpx.get(f"{live_server.url}/api/workspaces", headers={"Authorization": f"Bearer {token}"})
    assert resp.json()["results"][0]["slug"] == "acme"

    page.goto(f"{live_server.url}/accounts/settings/")
    assert page.locator("#new-token").count() == 0
    row = page.locator("#token-list tr", has_text="notebook")
    assert "never" not in row.inner_text()
    row.locator("button", has_text="Revoke").click()
    page.wait_for_selector("#token-list >> text=revoked")
    resp = httpx.get(f"{live_server.url}/api/workspaces", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401


def test_the_api_docs_render_under_the_csp(live_server, browser_login):
    user = make_user("bob")
    make_workspace("acme", members={user: Role.VIEWER})
    page = browser_login(user)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server.url}/api/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "metadata_site API" in page.inner_text(".swagger-ui .info .title")
    page.get_by_text("/api/w/{slug}/items", exact=True).first.wait_for()
    assert not [e for e in errors if "Content Security Policy" in e]
