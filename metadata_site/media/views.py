"""Serving an item's stored media to the members of its workspace (a stranger gets 404). The thumbnail itself is
served by `items:thumbnail`, which calls `serve_thumbnail` here when the worker made one."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from metadata_site.items.models import Item
from metadata_site.workspaces.access import get_for_member

from .decode import thumbnail_content_type
from .serving import serve_stored
from .storage import name_version

NO_ORIGINAL = "This item has no stored original."
NO_KEYFRAME = "This item has no keyframe {n}."


def _get_item_for_user(request: HttpRequest, slug: str, uid) -> Item:
    return get_for_member(
        request.user, slug, Item.objects.select_related("blob").only("id", "uid", "media_info", "blob"), uid=uid
    )


def serve_thumbnail(request: HttpRequest, name: str) -> HttpResponse:
    """A content-addressed thumbnail: cached for a year when the URL names its version (``?v=``)."""
    version = name_version(name)
    return serve_stored(
        request, name=name, content_type=thumbnail_content_type(name), etag=version,
        immutable=request.GET.get("v") == version,
    )


@login_required
@require_safe
def media_original(request: HttpRequest, slug: str, uid) -> HttpResponse:
    item = _get_item_for_user(request, slug, uid)
    if item.blob_id is None:
        raise Http404(NO_ORIGINAL)
    blob = item.blob
    return serve_stored(request, name=blob.storage_name, content_type=blob.content_type, etag=blob.sha256)


@login_required
@require_safe
def media_keyframe(request: HttpRequest, slug: str, uid, n: int) -> HttpResponse:
    item = _get_item_for_user(request, slug, uid)
    keyframes = (item.media_info or {}).get("keyframes") or []
    if n >= len(keyframes):
        raise Http404(NO_KEYFRAME.format(n=n))
    return serve_thumbnail(request, keyframes[n]["thumb"])
