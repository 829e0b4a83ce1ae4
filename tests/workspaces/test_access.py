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


def _item(workspace):
    from tests.factories import make_folder, make_item

    return make_item(make_folder(workspace, "f"), "a.jpg")


def test_get_for_member_gives_every_member_the_object_in_one_query(workspace, owner, viewer,
                                                                  django_assert_num_queries):
    from metadata_site.items.models import Item
    from metadata_site.workspaces.access import get_for_member

    item = _item(workspace)
    for user in (owner, viewer):
        with django_assert_num_queries(1):
            assert get_for_member(user, "acme", Item.objects.all(), uid=item.uid) == item


def test_get_for_member_hides_the_object_from_strangers_anonymous_users_and_other_workspaces(workspace, owner,
                                                                                             stranger):
    from django.contrib.auth.models import AnonymousUser

    from metadata_site.items.models import Item
    from metadata_site.workspaces.access import get_for_member

    item = _item(workspace)
    elsewhere = _item(stranger.memberships.get().workspace)
    for user, slug, uid in [(stranger, "acme", item.uid), (AnonymousUser(), "acme", item.uid),
                            (owner, "elsewhere", item.uid), (owner, "acme", elsewhere.uid), (owner, "nope", item.uid),
                            (stranger, "acme", elsewhere.uid)]:
        with pytest.raises(Http404):
            get_for_member(user, slug, Item.objects.all(), uid=uid)
