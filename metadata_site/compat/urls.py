from django.urls import path

from . import views

app_name = "compat"

urlpatterns = [
    # SSH keys on the settings page.
    path("accounts/settings/ssh-keys/", views.ssh_key_add_view, name="ssh-key-add"),
    path("accounts/settings/ssh-keys/<int:key_id>/remove/", views.ssh_key_remove_view, name="ssh-key-remove"),
]
