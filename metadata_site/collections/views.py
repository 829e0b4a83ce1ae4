from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from metadata_site.items.models import Item
from metadata_site.items.selection import FOLDER, SELECTION_PARAMS, SelectionForm, parse_id_list
from metadata_site.projects.models import Dataset
from metadata_site.workspaces.access import Access, get_access
from metadata_site.workspaces.models import Role

from . import selectors, services
from .forms import AddToCollectionForm, CollectionEditForm, DatasetFromCollectionsForm
from .models import Collection, CollectionKind, CollectionTask
from .selectors import (
    collection_active_task,
    collection_count_or_problem,
    filter_state_as_params,
    filter_state_from_params,
)


def _get_collection_for_user(request: HttpRequest, slug: str, pk: int, *, role: str = Role.VIEWER):
    access = get_access(request.user, slug, role=role)
    return access, get_object_or_404(Collection, workspace=access.workspace, pk=pk)


def _errors(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _selection(request: HttpRequest, access: Access, data) -> tuple[list[int] | None, dict | None, str]:
    """(ticked item ids or None, the filter state, its query string) of the selection in `data`, read by
    `items.selection.SelectionForm` (nothing ticked: no item); ticked items of another workspace are refused."""
    form = SelectionForm(data, allow_empty=True)
    if not form.is_valid():
        raise ValidationError(form.error_message())
    selected = form.value
    filter_state = filter_state_from_params(workspace=access.workspace, params=selected.query_dict())
    if selected.matching:
        return None, filter_state, filter_state_as_params(filter_state)
    items = Item.objects.filter(workspace=access.workspace)
    if selected.kind == FOLDER:
        folder_items = items.filter(folder_id=selected.folder).top_level()
        return list(folder_items.values_list("pk", flat=True)), filter_state, filter_state_as_params(filter_state)
    ids = list(selected.ids)
    if selected.uids:
        found = dict(items.filter(uid__in=selected.uids).values_list("uid", "pk"))
        missing = [str(u) for u in selected.uids if u not in found]
        if missing:
            raise ValidationError(
                services.ITEMS_NOT_IN_WORKSPACE.format(count=len(missing), sample=", ".join(missing[:3]))
            )
        ids = ids + list(found.values())
    return ids, filter_state, filter_state_as_params(filter_state)


def _selection_hidden(data) -> list[tuple[str, str]]:
    """The selection parameters to carry through a dialog as hidden inputs."""
    return [(k, v) for k in SELECTION_PARAMS for v in (data.getlist(k) if hasattr(data, "getlist") else [])]


def _selection_summary(access: Access, ids: list[int] | None, filter_state: dict | None) -> dict:
    """How many items the dialog will add and, for a filter selection, the filter in words."""
    from metadata_site.explorer import forms
    from metadata_site.explorer import query as fl
    from metadata_site.explorer import selectors as explorer_selectors
    from metadata_site.schemas.selectors import schema_current

    if ids is not None:
        return {"selection_count": len(set(ids)), "selection_description": ""}
    if filter_state is None:
        return {"selection_count": None, "selection_description": ""}
    schema = schema_current(workspace=access.workspace)
    query = fl.parse_json(filter_state, schema=schema)
    return {
        "selection_count": explorer_selectors.count(query, schema=schema, workspace=access.workspace),
        "selection_description": forms.describe_query(query),
    }


@login_required
@require_GET
def collection_list(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_access(request.user, slug)
    collections = list(selectors.collection_list(workspace=access.workspace))
    thumbs = selectors.collections_thumbnails(collections, limit=5)
    rows = []
    for c in collections:
        count, problem = (c.stored_count, None) if c.kind == CollectionKind.FROZEN else collection_count_or_problem(c)
        rows.append({"collection": c, "count": count, "problem": problem, "thumbs": thumbs.get(c.pk, [])})
    ctx = {
        "workspace": access.workspace,
        "access": access,
        "rows": rows,
        "dataset_form": DatasetFromCollectionsForm(workspace=access.workspace),
    }
    return render(request, "collections/list.html", ctx)


@login_required
@require_http_methods(["GET", "POST"])
def collection_add(request: HttpRequest, slug: str) -> HttpResponse:
    """The "Add to collection" dialog of an explorer selection (GET) and its submission (POST).

    The selection is `ids` (ticked item ids, repeated or comma-separated) or `all=1` with the explorer's
    filter parameters (`f`, `any`, `scope`)."""
    access = get_access(request.user, slug, role=Role.EDITOR)
    data = request.POST if request.method == "POST" else request.GET
    # The explorer's selection page posts just the selection: that opens the dialog.
    submitted = request.method == "POST" and "target" in data
    form = AddToCollectionForm(data if submitted else None, workspace=access.workspace)
    errors: list[str] = []
    try:
        ids, filter_state, query = _selection(request, access, data)
    except ValidationError as exc:
        ids, filter_state, query, errors = [], None, "", _errors(exc)
    if submitted and not errors and form.is_valid():
        cd = form.cleaned_data
        try:
            if cd["target"] == "new":
                kind = cd["kind"] or CollectionKind.FROZEN
                collection = services.collection_create(
                    workspace=access.workspace,
                    user=request.user,
                    title=cd["title"],
                    description=cd["description"],
                    kind=kind,
                    filter_state=filter_state,
                    item_ids=None if kind == CollectionKind.LIVE else ids,
                )
                task = collection_active_task(collection)
            else:
                collection = cd["collection"]
                task = services.collection_add_items(
                    collection=collection, item_ids=ids, filter_state=filter_state, user=request.user
                ).task
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            if task is not None:
                return _redirect(request, reverse("collections:task", args=[slug, task.uid]))
            messages.success(request, f"Saved to collection “{collection.title}”.")
            return _redirect(request, reverse("collections:list", args=[slug]))
    ctx = {
        "workspace": access.workspace,
        "access": access,
        "form": form,
        "errors": errors,
        "hidden": _selection_hidden(data),
        "selection_ids": ids,
        "selection_query": query,
        **_selection_summary(access, ids, filter_state),
    }
    template = "collections/_add_modal.html" if request.htmx else "collections/add.html"
    return render(request, template, ctx, status=400 if errors or form.errors else 200)


@login_required
@require_POST
def collection_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access, collection = _get_collection_for_user(request, slug, pk, role=Role.EDITOR)
    form = CollectionEditForm(request.POST)
    if form.is_valid():
        try:
            services.collection_update(
                collection=collection, title=form.cleaned_data["title"], description=form.cleaned_data["description"]
            )
            messages.success(request, f"Saved “{collection.title}”.")
        except ValidationError as exc:
            messages.error(request, " ".join(_errors(exc)))
    else:
        messages.error(request, "A collection needs a title.")
    return redirect("collections:list", slug)


@login_required
@require_POST
def collection_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access, collection = _get_collection_for_user(request, slug, pk, role=Role.EDITOR)
    title = collection.title
    services.collection_delete(collection=collection)
    messages.success(request, f"Deleted collection “{title}”; its items are untouched.")
    return redirect("collections:list", slug)


@login_required
@require_POST
def collection_freeze(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access, collection = _get_collection_for_user(request, slug, pk, role=Role.EDITOR)
    try:
        result = services.collection_freeze(collection=collection, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(_errors(exc)))
        return redirect("collections:list", slug)
    if result.task is not None:
        return redirect("collections:task", slug, result.task.uid)
    messages.success(request, f"Froze “{collection.title}” with {result.added} items.")
    return redirect("collections:list", slug)


@login_required
@require_POST
def collection_remove_items(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Remove the explorer selection (`ids`, or `all=1` + filter parameters) from a frozen collection."""
    access, collection = _get_collection_for_user(request, slug, pk, role=Role.EDITOR)
    try:
        ids, filter_state, _ = _selection(request, access, request.POST)
        removed = services.collection_remove_items(collection=collection, item_ids=ids, filter_state=filter_state)
    except ValidationError as exc:
        messages.error(request, " ".join(_errors(exc)))
    else:
        messages.success(request, f"Removed {removed} items from “{collection.title}”.")
    url = reverse("explorer:explore", args=[slug]) + "?" + urlencode({"scope": f"collection:{collection.pk}"})
    return _redirect(request, url)


@login_required
@require_http_methods(["GET", "POST"])
def dataset_create(request: HttpRequest, slug: str) -> HttpResponse:
    """ "Create dataset" from ticked collections (`collections`) and/or an explorer selection."""
    access = get_access(request.user, slug, role=Role.EDITOR)
    data = request.POST if request.method == "POST" else request.GET
    submitted = request.method == "POST" and "title" in data
    form = DatasetFromCollectionsForm(data if submitted else None, workspace=access.workspace)
    errors: list[str] = []
    try:
        collection_ids = list(parse_id_list(data.getlist("collections"), param="collections"))
    except ValidationError as exc:
        collection_ids, errors = [], _errors(exc)
    has_selection = any(data.getlist(key) for key in ("ids", "item", "all", "selection", "folder"))
    ids, filter_state = None, None
    if has_selection and not errors:
        try:
            ids, filter_state, _ = _selection(request, access, data)
        except ValidationError as exc:
            errors = _errors(exc)
    chosen = Collection.objects.filter(workspace=access.workspace, pk__in=collection_ids)
    if submitted and not errors and form.is_valid():
        cd = form.cleaned_data
        try:
            dataset = services.dataset_create_from_collections(
                workspace=access.workspace,
                user=request.user,
                title=cd["title"],
                description=cd["description"],
                collection_ids=collection_ids,
                item_ids=ids,
                filter_state=filter_state if ids is None else None,
                project=cd["project"],
                new_project_name=cd["new_project_name"],
                split_image_groups=cd["split_image_groups"],
            )
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            task = CollectionTask.objects.filter(dataset=dataset).first()
            if task is not None:
                return _redirect(request, reverse("collections:task", args=[slug, task.uid]))
            messages.success(request, f"Created dataset “{dataset.name}” in project “{dataset.project.name}”.")
            return _redirect(request, reverse("projects:dataset", args=[slug, dataset.pk]))
    ctx = {
        "workspace": access.workspace,
        "access": access,
        "form": form,
        "errors": errors,
        "chosen": chosen,
        "hidden": _selection_hidden(data),
        "has_selection": has_selection,
    }
    return render(request, "collections/dataset_create.html", ctx, status=400 if errors or form.errors else 200)


@login_required
@require_GET
def task_detail(request: HttpRequest, slug: str, uid) -> HttpResponse:
    """A background add or dataset build with its progress bar (the htmx poll renders #progress)."""
    access = get_access(request.user, slug)
    task = get_object_or_404(
        CollectionTask.objects.select_related("collection", "dataset"), workspace=access.workspace, uid=uid
    )
    dataset = Dataset.objects.filter(pk=task.dataset_id).first() if task.dataset_id else None
    ctx = {"workspace": access.workspace, "access": access, "task": task, "dataset": dataset}
    template = "collections/task.html#progress" if request.htmx else "collections/task.html"
    return render(request, template, ctx)
