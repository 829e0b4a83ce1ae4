import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from metadata_site.workspaces.access import WORKSPACE_READ_ONLY, get_access
from metadata_site.workspaces.models import Role


def test_it_gives_members_their_workspace(workspace, owner):
    access = get_access(owner, "acme", role=Role.ADMIN)
    assert access.workspace == workspace
    assert access.can_admin


def test_it_hides_the_workspace_from_strangers(workspace, stranger):
    with pytest.raises(Http404):
        get_access(stranger, "acme")


def test_it_hides_the_workspace_from_anonymous_users(workspace):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Http404):
        get_access(AnonymousUser(), "acme")


def test_it_refuses_writes_by_viewers(workspace, viewer):
    with pytest.raises(PermissionDenied, match=WORKSPACE_READ_ONLY):
        get_access(viewer, "acme", role=Role.EDITOR)


def test_it_lets_editors_write_but_not_manage(workspace, editor):
    assert get_access(editor, "acme", role=Role.EDITOR).can_write
    with pytest.raises(PermissionDenied):
        get_access(editor, "acme", role=Role.ADMIN)


def test_a_missing_workspace_is_a_404_like_a_foreign_one(workspace, owner):
    with pytest.raises(Http404):
        get_access(owner, "nope")
