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
