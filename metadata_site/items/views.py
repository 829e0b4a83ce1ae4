from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.http import quote_etag
from django.views.decorators.http import require_GET

from metadata_site.collections.selectors import collection_tags_for_items
from metadata_site.schemas.selectors import schema_current
from metadata_site.workspaces.access import get_access
from metadata_site.workspaces.models import Role

from .models import Item
from .thumbnails import render_thumbnail


def _get_item_for_user(request: HttpRequest, slug: str, uid, *, role: str = Role.VIEWER):
    access = get_access(request.user, slug, role=role)
    item = get_object_or_404(Item.objects.select_related("folder", "parent"), workspace=access.workspace, uid=uid)
    return access, item


@login_required
@require_GET
def item_detail(request: HttpRequest, slug: str, uid) -> HttpResponse:
    access, item = _get_item_for_user(request, slug, uid)
    schema = schema_current(workspace=access.workspace)
    md = item.client_metadata if isinstance(item.client_metadata, dict) else {}
    declared = [(spec, md[spec.name]) for spec in schema if spec.name in md]
    undeclared = {k: v for k, v in md.items() if schema.get(k) is None}
    ctx = {
        "workspace": access.workspace,
        "access": access,
        "item": item,
        "declared": declared,
        "undeclared": undeclared,
        "datasets": item.datasets.select_related("project"),
        "collections": collection_tags_for_items(workspace_id=item.workspace_id, item_ids=[item.pk])[item.pk],
        "frames": item.frames.order_by("frame_index", "id") if item.kind == "image_group" else [],
    }
    return render(request, "items/item.html", ctx)


@login_required
@require_GET
def item_thumbnail(request: HttpRequest, slug: str, uid) -> HttpResponse:
    access = get_access(request.user, slug)
    item = get_object_or_404(
        Item.objects.only("uid", "title", "client_metadata", "updated_at"), workspace=access.workspace, uid=uid
    )
    etag = quote_etag(f"{item.uid}-{int(item.updated_at.timestamp())}")
    if request.headers.get("If-None-Match") == etag:
        return HttpResponse(status=304)
    png = render_thumbnail(uid=str(item.uid), title=item.title, metadata=item.client_metadata)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    response["ETag"] = etag
    return response
