from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from metadata_site.accounts.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it is shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="created by manage.py", help="What the token is for")

    def handle(self, *args, username: str, name: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}")
        try:
            _token, raw = api_token_create(user=user, name=name)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(raw)
