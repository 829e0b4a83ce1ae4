"""Serving an item's stored media to the members of its workspace (a stranger gets 404). The thumbnail itself is
served by `items:thumbnail`, which calls `serve_thumbnail` here when the worker made one."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from metadata_site.items.models import Item
from metadata_site.workspaces.access import get_access, get_for_member
from metadata_site.workspaces.models import Role

from . import dedupe, lookalike, tickets
from .decode import thumbnail_content_type
from .forms import DuplicateScanForm, DuplicatesCollectionForm, DuplicatesDatasetForm
from .models import DuplicateScan
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


@require_safe
def media_keyframe(request: HttpRequest, slug: str, uid, n: int) -> HttpResponse:
    """A video keyframe's thumbnail; without a database query when the URL's ticket is this session's."""
    name = tickets.redeem(request, slug=slug, uid=uid)
    if name is not None:
        return serve_thumbnail(request, name)
    return _keyframe_for_member(request, slug, uid, n)


@login_required
def _keyframe_for_member(request: HttpRequest, slug: str, uid, n: int) -> HttpResponse:
    item = _get_item_for_user(request, slug, uid)
    keyframes = (item.media_info or {}).get("keyframes") or []
    if n >= len(keyframes):
        raise Http404(NO_KEYFRAME.format(n=n))
    return serve_thumbnail(request, keyframes[n]["thumb"])


def _duplicates_page(request: HttpRequest, access, *, scan_form: DuplicateScanForm | None = None,
                     status: int = 200) -> HttpResponse:
    scan = DuplicateScan.objects.filter(workspace=access.workspace).first()
    if scan_form is None:
        initial = {"source": scan.source, "threshold": "" if scan.threshold is None else f"{scan.threshold:g}"} \
            if scan is not None else {"threshold": str(lookalike.DUPLICATE_BITS)}
        scan_form = DuplicateScanForm(workspace=access.workspace, initial=initial)
    ctx = {
        "workspace": access.workspace,
        "access": access,
        "extras": dedupe.duplicate_extras(workspace=access.workspace).count(),
        "collection_form": DuplicatesCollectionForm(),
        "dataset_form": DuplicatesDatasetForm(workspace=access.workspace),
        "scan_form": scan_form,
        "groups": lookalike.duplicate_groups(workspace=access.workspace),
        "bits": lookalike.DUPLICATE_BITS,
        "shown": lookalike.GROUPS_SHOWN,
        "scan": scan,
    }
    return render(request, "media/duplicates.html", ctx, status=status)


@login_required
@require_safe
def duplicates(request: HttpRequest, slug: str) -> HttpResponse:
    """The workspace's near-duplicate groups (as the last `find_duplicates` run stored them), largest first, each
    with its size and thumbnails, the representative (the oldest item) first; what the last search compared."""
    return _duplicates_page(request, get_access(request.user, slug))


@login_required
@require_POST
def duplicates_refresh(request: HttpRequest, slug: str) -> HttpResponse:
    """Queue the background search for near-duplicates (editors and admins) by the chosen source (the built-in
    descriptor or an embedding field) and threshold; a bad choice re-renders the page with the error (400)."""
    access = get_access(request.user, slug, role=Role.EDITOR)
    form = DuplicateScanForm(request.POST, workspace=access.workspace)
    if not form.is_valid():
        return _duplicates_page(request, access, scan_form=form, status=400)
    field = form.cleaned_data["field"]
    lookalike.duplicate_scan_queue(workspace=access.workspace, user=request.user,
                                   source=field.name if field is not None else "",
                                   threshold=form.cleaned_data["threshold_value"])
    messages.info(request, "Looking for near-duplicates in the background.")
    return redirect("media:duplicates", slug=slug)


SIMILAR_UPLOAD_MAX_BYTES = 20 * 1024 * 1024
UPLOAD_MISSING = "Choose an image file to find images like it."
UPLOAD_TOO_LARGE = "The image is {size:,} bytes; at most {limit:,} bytes can be used to find similar images."
UPLOAD_NOT_AN_IMAGE = "This file cannot be used: {reason}. Choose a JPEG, PNG, WebP, GIF, BMP or TIFF image."
UPLOAD_VIDEO = "a video ({content_type}) is not accepted here"
UPLOAD_UNREADABLE = "The image could not be read: {reason}."
_STATE_DROPPED = ("similar_to", "k", "by", "after", "select", "explore")


def _form_errors(form) -> str:
    return " ".join(f"{form.fields[k].label if k in form.fields else k}: {' '.join(v)}" for k, v in form.errors.items())


@login_required
@require_POST
def duplicates_collect(request: HttpRequest, slug: str) -> HttpResponse:
    """A new collection of all but one item per near-duplicate group (editors and admins)."""
    access = get_access(request.user, slug, role=Role.EDITOR)
    form = DuplicatesCollectionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("media:duplicates", slug=slug)
    try:
        collection = dedupe.duplicates_to_collection(workspace=access.workspace, user=request.user,
                                                     title=form.cleaned_data["title"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("media:duplicates", slug=slug)
    messages.success(request, f"Collection “{collection.title}” made of the near-duplicates but one per group.")
    return redirect(f"{reverse('explorer:explore', args=[slug])}?scope=collection:{collection.pk}")


@login_required
@require_POST
def duplicates_out_of_dataset(request: HttpRequest, slug: str) -> HttpResponse:
    """Take all but one item per near-duplicate group out of a dataset (editors and admins)."""
    access = get_access(request.user, slug, role=Role.EDITOR)
    form = DuplicatesDatasetForm(request.POST, workspace=access.workspace)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("media:duplicates", slug=slug)
    dataset = form.cleaned_data["dataset"]
    try:
        removed = dedupe.duplicates_out_of_dataset(dataset=dataset, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("media:duplicates", slug=slug)
    messages.success(request, f"{removed} near-duplicate{'s' if removed != 1 else ''} taken out of “{dataset.name}” "
                              "(one item of each group kept).")
    return redirect("media:duplicates", slug=slug)


@login_required
@require_POST
def similar_upload(request: HttpRequest, slug: str) -> HttpResponse:
    """"Find images like this file": the uploaded picture's built-in descriptor, computed here from its bytes
    (bounded size, sniffed, the decompression-bomb guard of `decode`) and never stored, becomes the explorer's
    `similar_to=image:…`, its filters (``state``, the explorer's query string) kept. A bad file goes back to the
    explorer with the reason."""
    from io import BytesIO
    from urllib.parse import urlencode

    from django.http import QueryDict
    from django.urls import reverse

    from . import decode, sniff

    get_access(request.user, slug)
    state = QueryDict(request.POST.get("state", "")[:8000])
    pairs = [(key, value) for key, values in state.lists() if key not in _STATE_DROPPED for value in values]
    explorer = reverse("explorer:explore", args=[slug])
    upload = request.FILES.get("image")
    problem = None
    if upload is None or not upload.size:
        problem = UPLOAD_MISSING
    elif upload.size > SIMILAR_UPLOAD_MAX_BYTES:
        problem = UPLOAD_TOO_LARGE.format(size=upload.size, limit=SIMILAR_UPLOAD_MAX_BYTES)
    else:
        data = upload.read(SIMILAR_UPLOAD_MAX_BYTES + 1)
        try:
            content_type = sniff.sniff(data[: sniff.HEAD_BYTES])
            if content_type not in sniff.IMAGE_TYPES:
                raise sniff.NotAccepted(UPLOAD_VIDEO.format(content_type=content_type))
            found = decode.read_image(BytesIO(data))
        except sniff.NotAccepted as exc:
            problem = UPLOAD_NOT_AN_IMAGE.format(reason=exc.message)
        except decode.Unreadable as exc:
            problem = UPLOAD_UNREADABLE.format(reason=exc.message)
    if problem is not None:
        messages.error(request, problem)
        return redirect(f"{explorer}?{urlencode(pairs)}")
    pairs += [("similar_to", lookalike.image_param(found.phash, found.colour)), ("k", str(lookalike.DEFAULT_K))]
    return redirect(f"{explorer}?{urlencode(pairs)}")
