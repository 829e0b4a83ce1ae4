"""The explorer: one page for any scope, its state entirely in the URL.

The grid renders from one count-free page query; the total count and the facets (option counts,
histograms) load lazily from their own URLs (htmx ``hx-trigger="load"``; plain links without JS).
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from metadata_site.items.models import Item, ItemKind
from metadata_site.items.selection import SelectionForm
from metadata_site.lib.userinput import parse_id
from metadata_site.media import lookalike
from metadata_site.media.selectors import item_tiles
from metadata_site.projects.models import Dataset, Folder
from metadata_site.schemas.selectors import schema_current
from metadata_site.workspaces.access import get_access

from . import facets, forms, selectors
from . import query as fl

PAGE_SIZE = 50
GRID_FIELDS = 2
TABLE_COLUMNS = 6


SIMILAR_PARAMS = ("similar_to", "k", "by")


def _view_params(request: HttpRequest, *, similar: bool = True) -> list[tuple[str, str]]:
    """The view and its columns: ``cols`` from a URL, or the table's column checkboxes (``col``) of the form;
    then, with `similar`, "find similar" (``similar_to``, ``k``), kept like a filter."""
    pairs = []
    if similar and request.GET.get("similar_to"):
        pairs += [(key, request.GET[key]) for key in SIMILAR_PARAMS if request.GET.get(key)]
    if request.GET.get("view") == "table":
        pairs.append(("view", "table"))
    cols = request.GET.get("cols") or ",".join(c for c in request.GET.getlist("col") if c)
    if cols:
        pairs.append(("cols", cols))
    return pairs


def _url(query: fl.Query, request: HttpRequest, problems: list | None = None, *, extra: dict | None = None) -> str:
    """The one place an explorer URL's query string is built: conditions (with `problems`, the bad ones the
    user typed), scope, sort, view, columns, then `extra` (cursor, selection mode)."""
    pairs = forms.state_params(query, problems or []) + _view_params(request)
    pairs += [(key, value) for key, value in (extra or {}).items() if value]
    return urlencode(pairs)


def _columns(request: HttpRequest, schema, default: int) -> list:
    names = dict(_view_params(request)).get("cols", "").split(",")
    chosen = [schema.get(n) for n in names if n and schema.get(n) is not None]
    return chosen or list(schema)[:default]


def _scope_label(workspace, scope: fl.Scope) -> str:
    if scope.kind == "folder":
        folder = Folder.objects.filter(workspace=workspace, pk=scope.id).first()
        return f"folder {folder.name}" if folder else ""
    if scope.kind == "dataset":
        ds = Dataset.objects.filter(workspace=workspace, pk=scope.id).first()
        return f"dataset {ds.name}" if ds else ""
    if scope.kind == "collection":
        from metadata_site.collections.models import Collection

        coll = Collection.objects.filter(workspace=workspace, pk=scope.id).first()
        return f"collection {coll.title}" if coll else ""
    return "the whole workspace"


def _chips(query: fl.Query, problems: list, unshown: list, request: HttpRequest) -> list[dict]:
    """Active conditions, each with the URL that removes it, then the bad conditions no widget shows."""
    chips = []
    for group in ("all", "any"):
        conditions = getattr(query, group)
        for n, c in enumerate(conditions):
            rest = tuple(x for i, x in enumerate(conditions) if i != n)
            without = replace(query, **{group: rest})
            chips.append({"label": fl.describe(c), "group": group, "remove": "?" + _url(without, request, problems)})
    for p in unshown:
        others = [x for x in problems if x is not p]
        chips.append({"label": p.raw, "group": "bad", "reason": p.reason, "remove": "?" + _url(query, request, others)})
    return chips


@login_required
@require_GET
def explore(request: HttpRequest, slug: str) -> HttpResponse:
    """The explorer page (or, for htmx, its ``#explorer`` fragment).

    A condition that does not parse is shown at its own input (or as a chip) with its reason and the
    response is a 400, but everything else the user set still applies: the header, the count, the facets
    and the grid all describe the conditions that parsed. A bad scope, cursor or too many conditions
    make the whole query invalid: then nothing is counted or listed, and the page says so."""
    access = get_access(request.user, slug)
    workspace = access.workspace
    schema = schema_current(workspace=workspace)
    ctx: dict = {"workspace": workspace, "access": access, "schema": schema, "error": None}
    form = forms.ExploreForm(request.GET, schema=schema, workspace=workspace)
    if form.is_valid():
        query, problems, qs = form.cleaned_data["query"], form.cleaned_data["problems"], form.cleaned_data["items"]
        state = _url(query, request, problems)
        if request.GET.get("apply") and not request.htmx and not problems:
            return HttpResponseRedirect(f"{request.path}?{state}")
        similar = form.cleaned_data["similar"]
        if similar is None:
            page = fl.page_items(qs, query, schema=schema, limit=PAGE_SIZE, after=form.cleaned_data["after"])
        else:
            # Nearest first, all k on one page (k ≤ MAX_K); a stranger's item is a 404, like its own page.
            try:
                ctx["similar_item"] = lookalike.query_item(similar, workspace=workspace)
                ctx["similar_k"] = similar.k
                page = fl.ItemPage(lookalike.nearest(qs, query=ctx["similar_item"], k=similar.k), None, False)
            except Item.DoesNotExist:
                raise Http404("No such item") from None
            except fl.FilterError as err:  # the item has no descriptor yet
                ctx["error"] = err
    else:
        ctx["error"] = form.filter_error
    if ctx["error"]:
        ctx.pop("similar_item", None)
        query, problems, state, page = fl.Query(), [], "", fl.ItemPage([], None, False)
    ctx = _page_ctx(ctx, request, query, problems, page, schema)
    template = "explorer/explore.html#explorer" if request.htmx and not request.htmx.boosted else "explorer/explore.html"
    response = render(request, template, ctx, status=400 if ctx["error"] or problems else 200)
    if request.htmx and (ctx["error"] or problems):
        # The sidebar form asks for the results only; a problem is marked in the form, so send it all.
        response["HX-Retarget"], response["HX-Reselect"], response["HX-Reswap"] = "#explorer", "#explorer", "outerHTML"
    if request.htmx and not ctx["error"]:
        after = request.GET.get("after") if not problems else None
        response["HX-Push-Url"] = f"{request.path}?{state}" + (f"&after={after}" if after else "")
    return response


def _page_ctx(ctx: dict, request, query: fl.Query, problems: list, page: fl.ItemPage, schema) -> dict:
    view = "table" if request.GET.get("view") == "table" else "grid"
    columns = _columns(request, schema, TABLE_COLUMNS if view == "table" else GRID_FIELDS)
    state, hidden = forms.widget_state(query, schema=schema)
    unshown = forms.show_problems(state, problems, schema=schema)
    fields = []
    for spec in schema:
        family = fl.type_key(spec)
        w = state.get(spec.name, forms.empty_widget())
        chosen = w.get("values") or ()
        fields.append({"spec": spec, "family": family, "ops": forms.widget_ops(family), "w": w, "key": slugify(spec.name),
                       "options": [(option, option in chosen) for option in spec.options or ()]})
    rows = []
    for item, url, thumb in item_tiles(slug=ctx["workspace"].slug, items=page.items, request=request):
        md = item.client_metadata if isinstance(item.client_metadata, dict) else {}
        rows.append({"item": item, "url": url, "thumb": thumb, "values": [(spec, md.get(spec.name)) for spec in columns]})
    select_mode = request.GET.get("select")
    if select_mode == "all" and ctx.get("similar_item") is not None:
        select_mode = "page"  # "find similar" lists its k items on one page: all of them, not the whole filter
    sort_options = [("", "added (oldest first)"), ("-", "added (newest first)"), ("title", "title A→Z"), ("-title", "title Z→A")]
    for spec in schema:
        if not spec.is_multi_enum:
            sort_options += [(spec.name, f"{spec.name} ↑"), (f"-{spec.name}", f"{spec.name} ↓")]
    applied = _url(query, request)  # what the count, facets, exports and "select all" act on
    slug = ctx["workspace"].slug
    for name, label in fl.MEDIA_SORT_LABELS.items():  # built-in media properties
        sort_options += [(name, f"{label} ↑"), (f"-{name}", f"{label} ↓")]
    chips = _chips(query, problems, unshown, request)
    if ctx.get("similar_item") is not None:
        without = urlencode(forms.state_params(query, problems) + _view_params(request, similar=False))
        chips.append({"label": f"similar to {ctx['similar_item'].title} (nearest {len(page.items)})", "group": "all",
                      "remove": "?" + without})
    ctx.update(
        query=query,
        canonical=applied,
        query_params=query.to_params(),
        hidden=[c.to_param() for c in hidden] + [p.raw for p in unshown],
        problems=problems,
        sort_problem=next((p for p in problems if p.group == "sort"), None),
        page=page,
        rows=rows,
        columns=columns,
        column_choices=[(spec.name, spec in columns) for spec in schema],
        view=view,
        fields=fields,
        state=state,
        or_rows=forms.or_rows(query, problems),
        or_fields=forms.or_fields(schema),
        or_ops=[(op, forms.OP_LABELS[op]) for op in forms.OR_OPS],
        chips=chips,
        kinds=ItemKind.choices,
        dup_choices=forms.DUP_CHOICES,
        sort_value=query.sort.to_param(),
        sort_options=sort_options,
        presets=forms.PRESET_LABELS,
        scope_label=_scope_label(ctx["workspace"], query.scope),
        select_mode=select_mode if select_mode in ("page", "all") else "",
        next_url="?" + _url(query, request, problems, extra={"after": page.next_cursor}) if page.next_cursor else "",
        first_url="?" + _url(query, request, problems) if page.has_previous else "",
        count_url=reverse("explorer:count", args=[slug]) + "?" + applied,
        facets_url=reverse("explorer:facets", args=[slug]) + "?" + applied,
        undeclared_url=reverse("explorer:undeclared", args=[ctx["workspace"].slug])
        + ("?" + urlencode({"scope": query.scope.to_param()}) if query.scope.kind != "workspace" else ""),
        select_all_url="?" + _url(query, request, problems, extra={"select": "all"}),
        select_page_url="?" + _url(query, request, problems, extra={"select": "page", "after": request.GET.get("after")}),
        grid_link="?" + urlencode(forms.state_params(query, problems) + [(k, v) for k, v in _view_params(request) if k != "view"]),
        viewer_qs=viewer_query(request, query, after=request.GET.get("after")),
        table_link="?" + urlencode(forms.state_params(query, problems) + [("view", "table")] + [(k, v) for k, v in _view_params(request) if k != "view"]),
    )
    return ctx


def _partial_query(request: HttpRequest, slug: str):
    """(access, schema, the query or None, a 400 response or None) of a lazy partial's query string."""
    access = get_access(request.user, slug)
    schema = schema_current(workspace=access.workspace)
    form = forms.QueryForm(request.GET, schema=schema, workspace=access.workspace)
    if not form.is_valid():
        return access, schema, None, HttpResponse(str(form.filter_error), status=400, content_type="text/plain")
    return access, schema, form.cleaned_data["query"], None


@login_required
@require_GET
def explore_count(request: HttpRequest, slug: str) -> HttpResponse:
    """The exact number of matching items (lazy partial). Where the exact count looks slow (many matches,
    `selectors.estimate`) and is not kept (`explorer.cache`), first the planner's estimate, labelled, which then
    asks for the exact figure (``exact=1``)."""
    access, schema, query, invalid = _partial_query(request, slug)
    if invalid:
        return invalid
    ctx = {"workspace": access.workspace, "rebuilding": selectors.index_rebuild_pending(workspace=access.workspace)}
    if request.GET.get("exact") == "1":
        ctx["total"] = selectors.count(query, schema=schema, workspace=access.workspace)
        return render(request, "explorer/explore.html#count", ctx)
    ctx["total"], ctx["estimate"] = selectors.count_or_estimate(query, schema=schema, workspace=access.workspace)
    if ctx["estimate"] is not None:
        ctx["estimate_text"] = f"{ctx['estimate']:,}"
        ctx["count_url"] = request.path + "?" + urlencode([*request.GET.lists(), ("exact", ["1"])], doseq=True)
    return render(request, "explorer/explore.html#count", ctx)


@login_required
@require_GET
def explore_facets(request: HttpRequest, slug: str) -> HttpResponse:
    """Option counts and histograms of every declared field under the current filters (lazy partial)."""
    access, schema, query, invalid = _partial_query(request, slug)
    if invalid:
        return invalid
    ctx = {
        "workspace": access.workspace,
        "facets": facets.facets(query, schema=schema, workspace=access.workspace),
        "base": query,
    }
    for facet in ctx["facets"]:
        name, multi = facet.spec.name, facet.spec.is_multi_enum
        for option in facet.options or ():
            # Clicking an option narrows to it (keeping the other conditions on other fields, the sort and the view).
            narrowed = query.narrowed(fl.Condition(name, fl.HAS_ANY if multi else fl.EQ, (option.value,) if multi else option.value))
            option.url = "?" + urlencode(narrowed.to_params() + _view_params(request))
        for bucket in facet.buckets or ():
            narrowed = query.narrowed(fl.Condition(name, fl.BETWEEN, (bucket.low, bucket.high)))
            bucket.url = "?" + urlencode(narrowed.to_params() + _view_params(request))
    return render(request, "explorer/explore.html#facets", ctx)


@login_required
@require_GET
def explore_undeclared(request: HttpRequest, slug: str) -> HttpResponse:
    """The keys found in the scope's metadata that no field declares, each with a filter widget (lazy partial)."""
    access, schema, query, invalid = _partial_query(request, slug)
    if invalid:
        return invalid
    scope = query.scope
    found = selectors.undeclared_keys(scope, schema=schema, workspace=access.workspace)
    keys = [{"key": k, "ops": [(op, forms.UNDECLARED_OP_LABELS[op]) for op in k.ops]} for k in found.keys]
    ctx = {"workspace": access.workspace, "access": access, "found": found, "keys": keys, "scope": scope,
           "sample": selectors.KEY_SAMPLE}
    return render(request, "explorer/explore.html#undeclared", ctx)


@login_required
@require_POST
def selection(request: HttpRequest, slug: str) -> HttpResponse:
    """What a posted selection names: its size and the actions that take it (bulk edit, add to collection)."""
    access = get_access(request.user, slug)
    schema = schema_current(workspace=access.workspace)
    ctx: dict = {"workspace": access.workspace, "access": access, "error": None, "total": 0}
    form = SelectionForm(request.POST)
    if not form.is_valid():
        ctx["error"] = form.error_message()
        return render(request, "explorer/selection.html", ctx, status=400)
    try:
        ctx["total"] = selectors.selection_count(form.value, schema=schema, workspace=access.workspace)
    except fl.FilterError as err:
        ctx["error"] = err
        return render(request, "explorer/selection.html", ctx, status=400)
    ctx["fields"] = [(k, v) for k, v in request.POST.lists() if k != "csrfmiddlewaretoken"]
    ctx["actions"] = _selection_actions(access.workspace.slug) + _collection_actions(access, request.POST.get("scope"))
    return render(request, "explorer/selection.html", ctx)


def _collection_actions(access, scope: str | None) -> list[tuple[str, str]]:
    """"Create a dataset" for any selection; "Remove from <collection>" inside a frozen collection's scope."""
    from metadata_site.collections.models import Collection, CollectionKind

    slug = access.workspace.slug
    actions = [(reverse("collections:create-dataset", args=[slug]), "Create a dataset")]
    kind, _, ident = (scope or "").partition(":")
    if kind == "collection" and (pk := parse_id(ident)) is not None:
        c = Collection.objects.filter(workspace=access.workspace, pk=pk, kind=CollectionKind.FROZEN).first()
        if c is not None:
            actions.append((reverse("collections:remove-items", args=[slug, c.pk]), f"Remove from “{c.title}”"))
    return actions


def _selection_actions(slug: str) -> list[tuple[str, str]]:
    """Actions other apps offer for a selection, when their URLs exist."""
    from django.urls import NoReverseMatch

    actions = []
    for name, label in (("items:bulk-edit", "Edit metadata"), ("collections:add-items", "Add to a collection")):
        try:
            actions.append((reverse(name, args=[slug]), label))
        except NoReverseMatch:
            continue
    return actions


VIEWER_MARK = "explore"


def viewer_query(request: HttpRequest, query: fl.Query, *, after: str | None = None) -> str:
    """The query string that opens an item in the viewer from the explorer: the explorer's own state (filters,
    sort, scope, view, columns), the grid page's cursor, and the mark that says "step through this result"."""
    return _url(query, request, extra={"after": after, VIEWER_MARK: "1"})


SIMILAR_NOT_FOUND = "similar_to: no item {uid} in this workspace"


def _similar_neighbours(qs, similar, *, workspace, item) -> fl.Neighbours:
    """The items before and after `item` in a "find similar" result (its k ≤ MAX_K nearest, one page)."""
    try:
        target = lookalike.query_item(similar, workspace=workspace)
    except Item.DoesNotExist:
        raise fl.FilterError(SIMILAR_NOT_FOUND.format(uid=similar.uid), param="similar_to") from None
    ranked = [row.pk for row in lookalike.nearest(qs, query=target, k=similar.k)]
    if item.pk not in ranked:
        return fl.Neighbours()
    n = ranked.index(item.pk)
    by_pk = Item.objects.only("id", "uid", "title").in_bulk(ranked[max(0, n - 1):n + 2])
    return fl.Neighbours(previous=by_pk[ranked[n - 1]] if n else None,
                         next=by_pk[ranked[n + 1]] if n + 1 < len(ranked) else None, found=True)


def viewer_navigation(request: HttpRequest, *, workspace, item) -> dict:
    """Previous / next items of the explorer result the viewer was opened from, and the way back to the grid
    at the same place. Keyset lookups with the explorer's own filter and sort (never the whole result).
    Raises FilterError for a bad query string."""
    schema = schema_current(workspace=workspace)
    form = forms.QueryForm(request.GET, schema=schema, workspace=workspace, paging=True)
    if not form.is_valid():
        raise form.filter_error
    query, qs = form.cleaned_data["query"], form.cleaned_data["items"]
    similar, after = form.cleaned_data["similar"], form.cleaned_data["after"]
    if similar is not None:
        near, after = _similar_neighbours(qs, similar, workspace=workspace, item=item), None
    else:
        near = fl.neighbours(qs, query, schema=schema, item_id=item.pk)
    if near.found and similar is None:
        # Back to the grid page the viewer came from when the item is on it, else to the page it starts.
        page = fl.page_items(qs, query, schema=schema, limit=PAGE_SIZE, after=after)
        if all(row.pk != item.pk for row in page.items):
            after = near.start_cursor
    carry = viewer_query(request, query, after=after)
    explore_url = reverse("explorer:explore", args=[workspace.slug])
    grid = _url(query, request, extra={"after": after})
    return {
        "found": near.found,
        "previous": near.previous,
        "next": near.next,
        "previous_url": reverse("items:item", args=[workspace.slug, near.previous.uid]) + "?" + carry if near.previous else "",
        "next_url": reverse("items:item", args=[workspace.slug, near.next.uid]) + "?" + carry if near.next else "",
        "back_url": f"{explore_url}?{grid}#item-{item.uid}",
        "query": carry,
    }
