import pytest

from metadata_site.workspaces.models import Role
from tests.factories import make_folder, make_user, make_workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_member_logs_in_and_sees_the_workspace_home(live_server, browser_login):
    user = make_user("alice")
    ws = make_workspace("acme", members={user: Role.EDITOR})
    make_folder(ws, "fleet-cameras")
    page = browser_login(user)
    page.wait_for_selector("text=fleet-cameras")
    assert page.url.endswith("/w/acme/")


def test_a_wrong_password_shows_an_error(live_server, page):
    make_user("bob")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "bob")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    page.wait_for_selector(".errorlist")
    assert "correct username and password" in page.inner_text(".errorlist")
