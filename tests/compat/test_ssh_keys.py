import io

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.management import CommandError, call_command

from metadata_site.compat.keys import KEY_NOT_ED25519
from metadata_site.compat.models import SshKey
from metadata_site.compat.services import SSH_KEY_TAKEN, SSH_KEY_WORKSPACE_FORBIDDEN

from .signing import key_hex, new_key, openssh_public

pytestmark = pytest.mark.django_db


def _rsa_public() -> str:
    pub = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    return pub.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()


def test_the_settings_page_has_an_ssh_key_section(login, owner, workspace):
    response = login(owner).get("/accounts/settings/")
    assert response.status_code == 200
    assert b'id="ssh-keys"' in response.content
    assert b"No SSH keys yet." in response.content


def test_a_user_registers_an_ed25519_key(login, owner, workspace):
    key = new_key()
    response = login(owner).post("/accounts/settings/ssh-keys/", {"public_key": openssh_public(key, "ana@laptop")})
    assert response.status_code == 302
    row = SshKey.objects.get(user=owner)
    assert (row.key_hex, row.name, row.workspace) == (key_hex(key), "ana@laptop", None)
    page = login(owner).get("/accounts/settings/")
    assert row.fingerprint.encode() in page.content


def test_a_key_can_be_confined_to_one_workspace(login, owner, workspace):
    login(owner).post("/accounts/settings/ssh-keys/",
                      {"public_key": openssh_public(new_key()), "name": "ci", "workspace": workspace.pk})
    assert SshKey.objects.get(user=owner).workspace == workspace


def test_a_key_cannot_be_confined_to_a_foreign_workspace(login, owner, workspace, stranger):
    foreign = stranger.memberships.get().workspace
    response = login(owner).post("/accounts/settings/ssh-keys/",
                                 {"public_key": openssh_public(new_key()), "workspace": foreign.pk})
    assert response.status_code == 400
    assert SSH_KEY_WORKSPACE_FORBIDDEN.encode() in response.content
    assert not SshKey.objects.exists()


def test_an_rsa_key_is_refused_with_a_clear_message(login, owner, workspace):
    text = _rsa_public()
    response = login(owner).post("/accounts/settings/ssh-keys/", {"public_key": text})
    assert response.status_code == 400
    assert b"Only Ed25519 keys can sign Encord SDK requests" in response.content
    assert b"ssh-rsa" in response.content
    assert not SshKey.objects.exists()
    assert KEY_NOT_ED25519


def test_a_key_belongs_to_one_user_only(login, owner, editor, workspace):
    text = openssh_public(new_key())
    login(owner).post("/accounts/settings/ssh-keys/", {"public_key": text})
    response = login(editor).post("/accounts/settings/ssh-keys/", {"public_key": text})
    assert response.status_code == 400
    assert SSH_KEY_TAKEN.encode() in response.content


def test_a_user_removes_their_key_but_not_anyone_elses(login, owner, editor, workspace):
    login(owner).post("/accounts/settings/ssh-keys/", {"public_key": openssh_public(new_key())})
    row = SshKey.objects.get()
    assert login(editor).post(f"/accounts/settings/ssh-keys/{row.pk}/remove/").status_code == 404
    assert login(owner).post(f"/accounts/settings/ssh-keys/{row.pk}/remove/").status_code == 302
    assert not SshKey.objects.exists()


def test_anonymous_users_are_sent_to_login(client):
    response = client.post("/accounts/settings/ssh-keys/", {"public_key": "x"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_operators_add_a_key_with_the_management_command(tmp_path, owner, workspace):
    key = new_key()
    path = tmp_path / "id_ed25519.pub"
    path.write_text(openssh_public(key, "ops") + "\n")
    out = io.StringIO()
    call_command("add_ssh_key", "owner", str(path), "--workspace", "acme", stdout=out)
    row = SshKey.objects.get(user=owner)
    assert (row.key_hex, row.workspace) == (key_hex(key), workspace)
    assert "Added SSH key" in out.getvalue()


def test_the_command_refuses_an_rsa_key(tmp_path, owner):
    path = tmp_path / "id_rsa.pub"
    path.write_text(_rsa_public())
    with pytest.raises(CommandError, match="Only Ed25519"):
        call_command("add_ssh_key", "owner", str(path))


def test_the_command_refuses_an_unknown_user(tmp_path, db):
    path = tmp_path / "k.pub"
    path.write_text(openssh_public(new_key()))
    with pytest.raises(CommandError, match="No user"):
        call_command("add_ssh_key", "nobody", str(path))
