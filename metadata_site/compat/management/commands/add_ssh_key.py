import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from metadata_site.compat.services import SshKeyInvalid, ssh_key_add
from metadata_site.workspaces.models import Workspace


class Command(BaseCommand):
    help = "Register an Ed25519 OpenSSH public key for a user, so the Encord SDK can sign requests with it."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("public_key_file", help="an OpenSSH public key file (id_ed25519.pub), or - for stdin")
        parser.add_argument("--name", default="", help="a name for the key (default: the key's comment)")
        parser.add_argument("--workspace", default="", help="confine the key to this workspace (slug)")

    def handle(self, *args, username, public_key_file, name, workspace, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if public_key_file == "-":
            text = sys.stdin.read()
        else:
            try:
                text = Path(public_key_file).read_text()
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"Cannot read {public_key_file}: {exc}") from None
        ws = None
        if workspace:
            ws = Workspace.objects.filter(slug=workspace).first()
            if ws is None:
                raise CommandError(f"No workspace {workspace!r}.")
        try:
            key = ssh_key_add(user=user, public_key=text, name=name, workspace=ws)
        except SshKeyInvalid as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Added SSH key {key.name!r} ({key.fingerprint}) for {username}.")
