import pytest

from metadata_site.compat.models import SshKey
from metadata_site.workspaces.models import Role
from tests.compat.signing import key_hex, new_key, openssh_public
from tests.factories import make_user, make_workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_user_registers_an_ssh_key_on_the_settings_page(live_server, browser_login):
    user = make_user("alice")
    make_workspace("acme", members={user: Role.EDITOR})
    key = new_key()
    page = browser_login(user)
    page.goto(f"{live_server.url}/accounts/settings/")
    page.fill("#id_public_key", openssh_public(key, "alice@laptop"))
    page.click("#ssh-keys button[type=submit]")
    page.wait_for_selector("#ssh-key-list >> text=alice@laptop")
    row = SshKey.objects.get(user=user)
    assert row.key_hex == key_hex(key)
    assert row.fingerprint in page.inner_text("#ssh-key-list")


def test_a_non_ed25519_key_gets_a_clear_message(live_server, browser_login):
    user = make_user("bob")
    page = browser_login(user)
    page.goto(f"{live_server.url}/accounts/settings/")
    page.fill("#id_public_key", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 bob@laptop")
    page.click("#ssh-keys button[type=submit]")
    page.wait_for_selector("#ssh-key-error")
    assert "Only Ed25519 keys" in page.inner_text("#ssh-key-error")
    assert not SshKey.objects.exists()
