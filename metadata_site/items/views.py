import json
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat, pluralize
from django.urls import reverse
from django.utils.http import quote_etag, url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from metadata_site.collections.selectors import collection_tags_for_items
from metadata_site.media import tickets
from metadata_site.media.selectors import item_embeddings, item_keyframes, item_original_url, item_thumbnail_url
from metadata_site.media.views import serve_thumbnail
from metadata_site.projects.models import Folder
from metadata_site.schemas.fields import Schema
from metadata_site.schemas.selectors import schema_current
from metadata_site.schemas.validation import KEYFRAMES, FieldValueError, validate_value
from metadata_site.workspaces.access import Access, get_access, get_for_member
from metadata_site.workspaces.models import Role

from .forms import BulkEditForm, MetadataFieldsForm, MetadataJsonForm
from .models import ChangeSet, Item, ItemKind, MediaStatus
from .selection import FOLDER, SelectionForm
from .services import (
    MODE_MERGE,
    STATUS_CHANGED,
    STATUS_FAILED,
    ChangeSetError,
    change_set_entries,
    change_set_undo,
    item_metadata_bulk_apply,
    item_metadata_bulk_preview,
    item_metadata_write,
)
from .thumbnails import render_thumbnail

METADATA_SAVED = "Metadata saved."
METADATA_UNCHANGED = "Nothing changed."
BULK_APPLIED = "Bulk edit applied: {changed} items changed, {unchanged} already had it, {failed} failed."
UNDONE = "Undone: {count} item{s} restored to their previous metadata."
UNDONE_PARTLY = (
    "Partly undone: {count} item{s} restored to their previous metadata. The change stays undoable for the items "
    "it skipped."
)
UNDONE_NOTHING = "Nothing was undone: every item of this change has a newer value. The change stays undoable."
UNDO_CONFLICTS = "Skipped {count} item{s} changed again since (a newer value, left alone): {items}."
UNDO_CONFLICT_ITEM = "{title} (changed by change {newer})"
UNDO_CONFLICTS_SHOWN = 5
CHANGE_SETS_PER_PAGE = 50
CHANGE_SET_ENTRIES_SHOWN = 100
MAX_TIMELINE_MARKS = 500


def _get_item_for_user(request: HttpRequest, slug: str, uid, *, role: str = Role.VIEWER):
    access = get_access(request.user, slug, role=role)
    item = get_object_or_404(Item.objects.select_related("folder", "parent"), workspace=access.workspace, uid=uid)
    return access, item


def _display_rows(schema: Schema, metadata: dict) -> list[dict]:
    """Declared fields that have a value, each with the reason when the value does not fit its field."""
    rows = []
    for spec in schema:
        if spec.name not in metadata or metadata[spec.name] is None:
            continue
        value = metadata[spec.name]
        try:
            validate_value(spec, value)
            problem = ""
        except FieldValueError as exc:
            problem = exc.message
        rows.append({"spec": spec, "value": value, "problem": problem})
    return rows


def _timeline_marks(
    *, keyframes: list[dict], declared, frame_items, fps: float | None, duration: float | None
) -> list[dict]:
    """Timeline marks of a video: its keyframes (as the worker found them, and the frame numbers its metadata
    declares under ``keyframes``) and its frame items (kind frame, at frame_index / fps), each with its time in
    seconds and its position on the timeline in percent."""
    marks: dict[float, dict] = {}
    if fps and fps > 0 and isinstance(declared, list):
        for number in declared[:MAX_TIMELINE_MARKS]:
            if isinstance(number, int) and not isinstance(number, bool) and number >= 0:
                t = round(number / fps, 3)
                marks[t] = {"time": t, "label": f"keyframe {number} · {t:.2f} s", "source": "keyframe", "thumb": ""}
    for k in keyframes:
        t = round(float(k["t"]), 3)
        label = f"keyframe {k['frame']} · {t:.2f} s" if k.get("frame") is not None else f"keyframe · {t:.2f} s"
        marks[t] = {"time": t, "label": label, "source": "keyframe", "thumb": k.get("url", "")}
    if fps and fps > 0:
        for frame, thumb in frame_items:
            if frame.frame_index is None:
                continue
            t = round(frame.frame_index / fps, 3)
            marks[t] = {"time": t, "label": f"{frame.title} · frame {frame.frame_index} · {t:.2f} s",
                        "source": "item", "thumb": thumb}
    out = sorted(marks.values(), key=lambda m: m["time"])
    end = duration if duration and duration > 0 else (out[-1]["time"] if out else 0) or 1
    for m in out:
        m["percent"] = round(min(100.0, 100.0 * m["time"] / end), 3)
    return out


def _media_urls(request: HttpRequest, workspace, item: Item) -> tuple[str, str]:
    """(full-size source, thumbnail) URLs of an item's picture: the stored original when there is one."""
    thumb = item_thumbnail_url(slug=workspace.slug, item=item, request=request)
    original = item_original_url(slug=workspace.slug, item=item)
    image = original and item.media_status == MediaStatus.READY and item.kind != ItemKind.VIDEO
    return (original if image else thumb), thumb


def _media_properties(item: Item) -> list[tuple[str, str]]:
    props = []
    if item.width and item.height:
        props.append(("Size", f"{item.width} × {item.height} px"))
    if item.duration:
        props.append(("Duration", f"{item.duration:.2f} s" + (f" · {item.fps:g} fps" if item.fps else "")))
    if item.frame_count:
        props.append(("Frames", str(item.frame_count)))
    if item.content_type:
        props.append(("Type", item.content_type))
    if item.file_size:
        props.append(("File size", filesizeformat(item.file_size)))
    return props


def _viewer_media(request: HttpRequest, workspace, item: Item, frames: list[dict]) -> dict:
    """What the viewer's stage shows: an image to zoom, a video with its timeline marks, or a group's frames."""
    src, thumb = _media_urls(request, workspace, item)
    note = item.media_error if item.media_status == MediaStatus.ERROR else (
        "Reading the file…" if item.media_status == MediaStatus.PENDING else "")
    common = {"properties": _media_properties(item), "status_note": note, "width": item.width, "height": item.height}
    if item.kind == ItemKind.VIDEO:
        frame_items = [
            (f, _media_urls(request, workspace, f)[1])
            for f in item.frames.filter(kind=ItemKind.FRAME).order_by("frame_index", "id")[:MAX_TIMELINE_MARKS]
        ]
        md = item.client_metadata if isinstance(item.client_metadata, dict) else {}
        marks = _timeline_marks(keyframes=item_keyframes(slug=workspace.slug, item=item, request=request), declared=md.get(KEYFRAMES),
                                frame_items=frame_items, fps=item.fps, duration=item.duration)
        original = item_original_url(slug=workspace.slug, item=item)
        if original is None:
            return {**common, "kind": "none"}
        return {**common, "kind": "video", "src": original, "poster": thumb if item.thumbnail_name else "",
                "keyframes": marks, "fps": item.fps, "duration": item.duration}
    if item.kind == ItemKind.IMAGE_GROUP:
        first = frames[0]["src"] if frames else src
        return {**common, "kind": "group", "src": first, "width": None, "height": None}
    return {**common, "kind": "image", "src": src}


def _metadata_ctx(request: HttpRequest, access: Access, item: Item, **extra) -> dict:
    schema = schema_current(workspace=access.workspace)
    md = item.client_metadata if isinstance(item.client_metadata, dict) else {}
    frames = []
    if item.kind in (ItemKind.IMAGE_GROUP, ItemKind.VIDEO):  # a group's frames, a video's keyframe items
        for frame in item.frames.order_by("frame_index", "id"):
            frame_md = frame.client_metadata if isinstance(frame.client_metadata, dict) else {}
            src, thumb = _media_urls(request, access.workspace, frame)
            frames.append(
                {
                    "item": frame,
                    "src": src,
                    "thumb": thumb,
                    "rows": _display_rows(schema, frame_md),
                    "undeclared": {k: v for k, v in frame_md.items() if schema.get(k) is None},
                }
            )
    ctx = {
        "workspace": access.workspace,
        "access": access,
        "item": item,
        "schema": schema,
        "declared": _display_rows(schema, md),
        "undeclared": {k: v for k, v in md.items() if schema.get(k) is None and k != KEYFRAMES},
        "keyframes": md.get(KEYFRAMES) if item.kind == ItemKind.VIDEO else None,
        "frames": frames,
        "frames_url": reverse("explorer:explore", args=[access.workspace.slug]) + "?"
        + urlencode({"f": f"frame_of:eq:{item.uid}"}),
        "video_config": item.video_config if item.kind == ItemKind.VIDEO else None,
        "fields_form": MetadataFieldsForm(schema=schema, metadata=md),
        "json_form": MetadataJsonForm(initial={"metadata": json.dumps(md, indent=2, ensure_ascii=False)}),
        "editor": "",
    }
    ctx.update(extra)
    return ctx


@login_required
@require_GET
def item_detail(request: HttpRequest, slug: str, uid) -> HttpResponse:
    """The item page, which is the viewer: the media (zoom and pan, a video with its keyframes, an image group's
    frames) beside the editable metadata. Opened from the explorer (its query string plus ``explore=1``), ← / →
    step through the explorer's result in its order and Esc returns to the grid at the same place."""
    from metadata_site.explorer.query import FilterError
    from metadata_site.explorer.views import VIEWER_MARK, viewer_navigation

    access, item = _get_item_for_user(request, slug, uid)
    ctx = _metadata_ctx(request, access, item)
    ctx["datasets"] = item.datasets.select_related("project")
    ctx["collections"] = collection_tags_for_items(workspace_id=item.workspace_id, item_ids=[item.pk])[item.pk]
    ctx["media"] = _viewer_media(request, access.workspace, item, ctx["frames"])
    ctx["embeddings"] = item_embeddings(item=item, schema=ctx["schema"])
    ctx["nav"] = None
    if request.GET.get(VIEWER_MARK):
        try:
            ctx["nav"] = viewer_navigation(request, workspace=access.workspace, item=item)
        except FilterError as err:
            ctx["nav_error"] = err
            return render(request, "items/item.html", ctx, status=400)
    return render(request, "items/item.html", ctx)


def _after_edit(request: HttpRequest, access: Access, item: Item, result, form, editor: str) -> HttpResponse:
    """Redirect (or re-render the metadata fragment for htmx) after a save, or show the errors inline."""
    row = result.rows[0] if result is not None else None
    if row is not None and row["status"] == STATUS_FAILED:
        for error in row["errors"]:
            target = form.field_for_key(error["key"]) if hasattr(form, "field_for_key") else None
            message = error["msg"] if target else f"{error['key']}: {error['msg']}"
            form.add_error(target if target else None, message)
    if form.errors:
        ctx = _metadata_ctx(request, access, item, editor=editor, **{f"{editor}_form": form})
        template = "items/item.html#metadata" if request.htmx else "items/item.html"
        if not request.htmx:
            ctx["datasets"] = item.datasets.select_related("project")
            ctx["collections"] = collection_tags_for_items(workspace_id=item.workspace_id, item_ids=[item.pk])[item.pk]
            ctx["media"] = _viewer_media(request, access.workspace, item, ctx["frames"])
        return render(request, template, ctx, status=200 if request.htmx else 400)
    note = METADATA_SAVED if row is not None and row["status"] == STATUS_CHANGED else METADATA_UNCHANGED
    if request.htmx:
        item.refresh_from_db()
        return render(request, "items/item.html#metadata", _metadata_ctx(request, access, item, saved=note))
    messages.success(request, note)
    return redirect("items:item", access.workspace.slug, item.uid)


@login_required
@require_POST
def item_edit_metadata(request: HttpRequest, slug: str, uid) -> HttpResponse:
    access, item = _get_item_for_user(request, slug, uid, role=Role.EDITOR)
    schema = schema_current(workspace=access.workspace)
    md = item.client_metadata if isinstance(item.client_metadata, dict) else {}
    form = MetadataFieldsForm(request.POST, schema=schema, metadata=md)
    result = None
    if form.is_valid():
        patch = form.patch()
        if patch:
            result = item_metadata_write(
                workspace=access.workspace, user=request.user, updates={item.pk: patch}, mode=MODE_MERGE,
                source="ui", operation="edit", description=f"Edited {item.title}",
            )
    return _after_edit(request, access, item, result, form, "fields")


@login_required
@require_POST
def item_edit_metadata_json(request: HttpRequest, slug: str, uid) -> HttpResponse:
    access, item = _get_item_for_user(request, slug, uid, role=Role.EDITOR)
    form = MetadataJsonForm(request.POST)
    result = None
    if form.is_valid():
        mode = form.cleaned_data["mode"]
        result = item_metadata_write(
            workspace=access.workspace, user=request.user, updates={item.pk: form.cleaned_data["metadata"]},
            mode=mode, source="ui", operation="edit", description=f"Edited {item.title} as JSON ({mode})",
        )
    return _after_edit(request, access, item, result, form, "json")


def _bulk_selection(access: Access, form: BulkEditForm, *, schema: Schema):
    """The items a bulk edit acts on (a folder of another workspace is a 404). Raises FilterError for a bad
    explorer filter selection."""
    from metadata_site.explorer.selectors import resolve_selection

    selected = form.cleaned_data["selected"]
    if selected.kind == FOLDER:
        get_object_or_404(Folder, workspace=access.workspace, pk=selected.folder)
    return resolve_selection(selected, schema=schema, workspace=access.workspace)


def _bulk_cancel_url(request: HttpRequest, access: Access, carried: list[tuple[str, str]]) -> str:
    """Where the bulk edit's Cancel leads: the page the form was on (`next`, a path of this workspace), else
    the explorer with the selection's filter, else the workspace home."""
    next_url = request.POST.get("next", "")
    prefix = f"/w/{access.workspace.slug}/"
    if (next_url.startswith(prefix) and "\\" not in next_url
            and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()})):
        return next_url
    if request.POST.get("selection") == "filter":
        query = urlencode([(k, v) for k, v in carried if k not in ("selection", "item", "folder")])
        return f"{reverse('explorer:explore', args=[access.workspace.slug])}?{query}"
    return reverse("workspaces:home", args=[access.workspace.slug])


@login_required
@require_POST
def item_bulk_edit(request: HttpRequest, slug: str) -> HttpResponse:
    """Bulk edit of a selection (item uids, all items of a folder, or an explorer selection): a preview, then
    apply and report. An explorer selection arrives without a field: the page first asks for one."""
    from metadata_site.explorer.query import FilterError
    from metadata_site.explorer.selectors import selection_count

    access = get_access(request.user, slug, role=Role.EDITOR)
    schema = schema_current(workspace=access.workspace)
    form = BulkEditForm(request.POST, schema=schema, auto_id="id_bulk_%s")
    posted = [(k, v) for k, values in request.POST.lists() if k not in ("csrfmiddlewaretoken", "apply") for v in values]
    carried = [(k, v) for k, v in posted if k not in BulkEditForm.OWN_PARAMETERS]
    ctx = {"workspace": access.workspace, "access": access, "form": form, "posted": posted, "carried": carried,
           "cancel_url": _bulk_cancel_url(request, access, carried)}
    try:
        if request.POST.get("selection") and "field" not in request.POST:
            selection = SelectionForm(request.POST)
            if not selection.is_valid():
                ctx["selection_error"] = selection.error_message()
                return render(request, "items/bulk_edit.html", ctx, status=400)
            ctx.update(choose=True, selected=selection_count(selection.value, schema=schema, workspace=access.workspace))
            return render(request, "items/bulk_edit.html", ctx)
        if not form.is_valid():
            return render(request, "items/bulk_edit.html", ctx, status=400)
        items = _bulk_selection(access, form, schema=schema)
    except FilterError as err:
        ctx["selection_error"] = err
        return render(request, "items/bulk_edit.html", ctx, status=400)
    spec = form.cleaned_data["spec"]
    remove = form.cleaned_data["action"] == BulkEditForm.ACTION_REMOVE
    value = None if remove else form.cleaned_data["json_value"]
    if request.POST.get("apply") == "1":
        result = item_metadata_bulk_apply(
            workspace=access.workspace, user=request.user, items=items, key=spec.name, value=value, remove=remove
        )
        messages.success(
            request, BULK_APPLIED.format(changed=result.changed, unchanged=result.unchanged, failed=result.failed)
        )
        if result.change_set is not None:
            return redirect("items:change-set", access.workspace.slug, result.change_set.pk)
        return redirect("items:changes", access.workspace.slug)
    preview = item_metadata_bulk_preview(
        workspace=access.workspace, items=items, key=spec.name, value=value, remove=remove
    )
    ctx.update(preview=preview, spec=spec, remove=remove, value=value)
    return render(request, "items/bulk_edit.html", ctx)


@login_required
@require_GET
def change_sets(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_access(request.user, slug)
    qs = ChangeSet.objects.in_workspace(access.workspace).select_related("user", "undone_by")
    page = Paginator(qs, CHANGE_SETS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "items/changes.html", {"workspace": access.workspace, "access": access, "page": page})


@login_required
@require_GET
def change_set_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access = get_access(request.user, slug)
    change_set = get_object_or_404(
        ChangeSet.objects.select_related("user", "undone_by", "undo_of"), workspace=access.workspace, pk=pk
    )
    entries = change_set_entries(change_set, limit=CHANGE_SET_ENTRIES_SHOWN)
    ctx = {"workspace": access.workspace, "access": access, "change_set": change_set, "entries": entries}
    return render(request, "items/change_set.html", ctx)


@login_required
@require_POST
def change_set_undo_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access = get_access(request.user, slug, role=Role.EDITOR)
    change_set = get_object_or_404(ChangeSet, workspace=access.workspace, pk=pk)
    try:
        result = change_set_undo(change_set=change_set, user=request.user)
    except ChangeSetError as exc:
        messages.error(request, exc.message)
        return redirect("items:change-set", access.workspace.slug, pk)
    restored = result.restored + result.already
    if result.undone:
        messages.success(request, UNDONE.format(count=restored, s=pluralize(restored)))
    elif result.restored:
        messages.success(request, UNDONE_PARTLY.format(count=result.restored, s=pluralize(result.restored)))
    else:
        messages.warning(request, UNDONE_NOTHING)
    if result.conflicts:
        messages.warning(request, _undo_conflicts_message(result.conflicts))
    return redirect("items:change-set", access.workspace.slug, pk)


def _undo_conflicts_message(conflicts: list[dict]) -> str:
    """Which items an undo left alone and why: the first few by title, each with the newer change that wrote
    it."""
    shown = conflicts[:UNDO_CONFLICTS_SHOWN]
    titles = dict(Item.objects.filter(pk__in=[c["item"] for c in shown]).values_list("pk", "title"))
    names = []
    for conflict in shown:
        title = titles.get(conflict["item"], conflict["uid"])
        newer = conflict.get("newer_change_set")
        names.append(UNDO_CONFLICT_ITEM.format(title=title, newer=newer) if newer else title)
    more = f" and {len(conflicts) - len(shown)} more" if len(conflicts) > len(shown) else ""
    return UNDO_CONFLICTS.format(count=len(conflicts), s=pluralize(len(conflicts)), items=", ".join(names) + more)


@require_GET
def item_thumbnail(request: HttpRequest, slug: str, uid) -> HttpResponse:
    """The worker's thumbnail; without a database query when the URL's ticket is this session's (`tickets`)."""
    name = tickets.redeem(request, slug=slug, uid=uid)
    if name is not None:
        return serve_thumbnail(request, name)
    return _item_thumbnail_for_member(request, slug, uid)


@login_required
def _item_thumbnail_for_member(request: HttpRequest, slug: str, uid) -> HttpResponse:
    item = get_for_member(
        request.user, slug, Item.objects.only("uid", "title", "client_metadata", "updated_at", "thumbnail_name"),
        uid=uid,
    )
    if item.thumbnail_name:  # made by the media worker from the real bytes; never rendered here
        return serve_thumbnail(request, item.thumbnail_name)
    # No media (or not read yet): the generated placeholder.
    etag = quote_etag(f"{item.uid}-{int(item.updated_at.timestamp())}")
    if request.headers.get("If-None-Match") == etag:
        return HttpResponse(status=304)
    png = render_thumbnail(uid=str(item.uid), title=item.title, metadata=item.client_metadata)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    response["ETag"] = etag
    return response
