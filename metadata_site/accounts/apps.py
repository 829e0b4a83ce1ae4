from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "metadata_site.accounts"
    label = "accounts"
