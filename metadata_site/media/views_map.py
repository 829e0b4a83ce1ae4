"""The embedding map's pages: the map (a canvas drawn by ``static/js/map.js``), its points (binary), one point's item,
and starting a build. Members read; editors and admins start a build; a stranger gets a 404 (`get_access`).

The explorer's filters (``f``, ``any``, ``scope``) ride along in every URL: the points are those of the filtered
items, and "Show in explorer" opens the explorer with the same filters plus the box (``$map:box``)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from metadata_site.explorer import query as fl
from metadata_site.items.models import Item
from metadata_site.lib.userinput import parse_id
from metadata_site.schemas.fields import FieldType
from metadata_site.schemas.selectors import schema_current
from metadata_site.workspaces.access import get_access
from metadata_site.workspaces.models import Role

from . import embedding_map as em
from .embedding_map import MapError

FILTER_KEYS = ("f", "any", "scope")
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#bab0ac", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]


def _filter_pairs(request: HttpRequest) -> list[tuple[str, str]]:
    return [(key, value) for key in FILTER_KEYS for value in request.GET.getlist(key) if value.strip()]


def _bad(message: str) -> HttpResponse:
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def _parse(request: HttpRequest, workspace):
    """(schema, embedding field spec, method, colour spec or None, query, the filtered items or None)."""
    schema = schema_current(workspace=workspace)
    names = list(schema.embeddings)
    spec = em.embedding_spec(schema, request.GET.get("field") or (names[0] if names else ""))
    method = em.parse_method(request.GET.get("method"))
    colour = em.colour_spec(schema, request.GET.get("color"))
    query = fl.parse_query_string(request.GET, schema=schema)
    items = fl.items_matching(query, schema=schema, workspace=workspace) if query.is_filtered or \
        query.scope.kind != "workspace" else None
    return schema, spec, method, colour, query, items


@login_required
@require_GET
def map_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The map of an embedding field (``field``, ``method``: pca or umap, ``color``: an enum or number field),
    under the explorer's filters; a 400 page with the reason for a bad parameter."""
    access = get_access(request.user, slug)
    workspace = access.workspace
    ctx: dict = {"workspace": workspace, "access": access, "error": None}
    try:
        schema, spec, method, colour, query, _ = _parse(request, workspace)
    except (MapError, fl.FilterError) as exc:
        ctx["error"] = getattr(exc, "message", str(exc))
        return render(request, "media/map.html", ctx, status=400)
    row = em.map_for(workspace=workspace, field=spec.name, method=method)
    filters = _filter_pairs(request)
    state = [("field", spec.name), ("method", method)] + ([("color", colour.name)] if colour else [])
    legend = []
    if colour is not None and colour.type == FieldType.ENUM:
        legend = [(option, PALETTE[i % len(PALETTE)]) for i, option in enumerate(colour.options[:255])]
    ctx.update(
        schema=schema, spec=spec, method=method, colour=colour, row=row, query=query,
        chips=[fl.describe(c) for c in query.all] + [f"or {fl.describe(c)}" for c in query.any],
        methods=em.METHODS, embeddings=list(schema.embeddings),
        colour_fields=[s.name for s in schema if not s.is_multi_enum and s.type in
                       (FieldType.ENUM, FieldType.INTEGER, FieldType.FLOAT)],
        filters=filters, legend=legend, palette=PALETTE[:20],
        ready=row is not None and row.built_at is not None and row.size > 0,
        points_url=reverse("media:map-points", args=[slug]) + "?" + urlencode(state + filters),
        point_url=reverse("media:map-point", args=[slug]),
        explorer_url=reverse("explorer:explore", args=[slug]) + "?" + urlencode(filters),
        self_url=request.path + "?" + urlencode(state + filters),
    )
    template = "media/map.html#status" if request.htmx else "media/map.html"
    return render(request, template, ctx)


@login_required
@require_GET
def map_points(request: HttpRequest, slug: str) -> HttpResponse:
    """The points of a map as little-endian arrays, one after the other: x (float32 × n), y (float32 × n), item id
    (int32 × n), colour code (uint8 × n); n and how they were chosen in headers. ``box=x0,y0,x1,y1`` narrows to a
    box (zoomed in); at most `embedding_map.POINTS_MAX` points, a deterministic sample when there are more."""
    access = get_access(request.user, slug)
    try:
        _, spec, method, colour, _, items = _parse(request, access.workspace)
        box = em.parse_box(request.GET.get("box"))
    except (MapError, fl.FilterError) as exc:
        return _bad(getattr(exc, "message", str(exc)))
    row = em.map_for(workspace=access.workspace, field=spec.name, method=method)
    if row is None or row.built_at is None:
        return _bad(em.NOT_BUILT.format(method=method.upper(), field=spec.name))
    points = em.map_points(row, box=box, items=items, colour=colour)
    response = HttpResponse(points.to_bytes(), content_type="application/octet-stream")
    response["X-Map-Count"] = str(len(points.ids))
    response["X-Map-Estimate"] = str(points.estimate)
    response["X-Map-Sampled"] = "1" if points.sampled else "0"
    response["X-Map-Bounds"] = f"{row.x_min!r},{row.y_min!r},{row.x_max!r},{row.y_max!r}"
    if points.low is not None:
        response["X-Colour-Range"] = f"{points.low!r},{points.high!r}"
    response["Cache-Control"] = "private, no-cache"
    return response


@login_required
@require_GET
def map_point(request: HttpRequest, slug: str) -> HttpResponse:
    """One point's item (``id``: the item id the points carry): its title, thumbnail and page, as JSON; 404 for an
    item of another workspace."""
    from .selectors import item_thumbnail_url

    access = get_access(request.user, slug)
    pk = parse_id(request.GET.get("id") or "")
    if pk is None:
        return _bad("id: expected an item id")
    item = Item.objects.filter(workspace=access.workspace, pk=pk).first()
    if item is None:
        raise Http404("No such item")
    return JsonResponse({
        "id": item.pk, "uid": str(item.uid), "title": item.title,
        "thumb": item_thumbnail_url(slug=slug, item=item, request=request),
        "url": reverse("items:item", args=[slug, item.uid]),
    })


@login_required
@require_POST
def map_build(request: HttpRequest, slug: str) -> HttpResponse:
    """Start (or restart) the build of a map (editors and admins): ``field`` and ``method`` in the body; the filters
    of ``next`` are kept on the way back to the map."""
    access = get_access(request.user, slug, role=Role.EDITOR)
    try:
        row = em.map_queue(workspace=access.workspace, field=request.POST.get("field") or "",
                           method=request.POST.get("method") or "", user=request.user)
    except MapError as exc:
        return _bad(exc.message)
    state = [("field", row.field), ("method", row.method)]
    state += [(k, v) for k in ("color", *FILTER_KEYS) for v in request.POST.getlist(k) if v.strip()]
    return redirect(reverse("media:map", args=[slug]) + "?" + urlencode(state))

