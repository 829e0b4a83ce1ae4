from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from metadata_site.schemas.selectors import schema_current
from metadata_site.workspaces.access import Access, get_access
from metadata_site.workspaces.models import Role

from .exports import (
    CONTENT_TYPES,
    EXPORT_FORMATS,
    EXPORT_INLINE_MAX_ITEMS,
    EXPORT_UNKNOWN_FORMAT,
    ExportError,
    export_chunks,
    export_file_path,
    export_name,
    export_queryset,
    export_task_create,
)
from .forms import ApplyForm, ImportForm
from .models import ImportTask
from .services import (
    IMPORT_FILE_TOO_LARGE,
    ImportTaskError,
    error_report_path,
    import_task_apply,
    import_task_cancel,
    import_task_create,
    import_task_undo,
    import_task_upload,
)

IMPORT_UNDONE = "The import was undone."
IMPORT_UNDONE_PARTLY = (
    "Partly undone: left alone {count} item{s} changed again since the import (a newer value). Undo stays "
    "available: undo the newer change first, then this import."
)
UPLOAD_FRAMING_BYTES = 64 * 1024


def _get_task_for_user(request: HttpRequest, slug: str, pk: int, *, role: str = Role.VIEWER):
    access = get_access(request.user, slug, role=role)
    task = get_object_or_404(
        ImportTask.objects.select_related("created_by", "change_set"), workspace=access.workspace, pk=pk
    )
    return access, task


def _ctx(access: Access, **extra) -> dict:
    return {"workspace": access.workspace, "access": access, **extra}


class _UploadLimit(FileUploadHandler):
    """Stops reading the request body once it passes IMPORT_MAX_UPLOAD_BYTES (a body sent without a
    Content-Length, or one that lies about it): a huge upload is refused, never read to the end."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit, self.seen = limit, 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.seen += len(raw_data)
        if self.seen > self.limit:
            self.request.upload_refused = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def _upload_too_large(request: HttpRequest) -> HttpResponse:
    limit = settings.IMPORT_MAX_UPLOAD_BYTES
    return HttpResponse(IMPORT_FILE_TOO_LARGE.format(limit=limit), status=413, content_type="text/plain")


@csrf_exempt
@login_required
@require_http_methods(["GET", "POST"])
def task_new(request: HttpRequest, slug: str) -> HttpResponse:
    """CSRF is checked in `_task_new`, after the upload limit is in place: the CSRF middleware would otherwise
    read the whole body (to find the token) before the view could refuse it."""
    get_access(request.user, slug, role=Role.EDITOR)
    if request.method == "POST":
        # Multipart framing (boundaries, other fields) adds a little to the file's size.
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit + UPLOAD_FRAMING_BYTES:
            return _upload_too_large(request)
        request.upload_handlers.insert(0, _UploadLimit(request, limit))
    return _task_new(request, slug)


@csrf_protect
def _task_new(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_access(request.user, slug, role=Role.EDITOR)
    if request.method == "POST":
        request.POST  # noqa: B018 - parse the body now, under the upload limit
        if getattr(request, "upload_refused", False):
            return _upload_too_large(request)
    schema = schema_current(workspace=access.workspace)
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES, workspace=access.workspace, schema=schema)
        if form.is_valid():
            policy = form.cleaned_data["apply"]
            task = None
            try:
                task = import_task_create(
                    workspace=access.workspace,
                    user=request.user,
                    kind=form.cleaned_data["kind"],
                    target=form.target(),
                    mode=form.cleaned_data["mode"],
                    dry_run=not policy,
                    policy=policy,
                )
                upload = form.cleaned_data["file"]
                import_task_upload(task=task, name=upload.name, chunks=upload.chunks())
            except ImportTaskError as exc:
                if task is not None:  # one form, one step: a refused file leaves no task behind
                    task.delete()
                form.add_error(None, exc.message)
            else:
                return redirect("imports:task", slug, task.pk)
    else:
        initial = {k: request.GET[k] for k in ("kind", "folder", "dataset", "field") if request.GET.get(k)}
        form = ImportForm(initial=initial, workspace=access.workspace, schema=schema)
    return render(request, "imports/new.html", _ctx(access, form=form), status=400 if form.errors else 200)


@login_required
@require_GET
def task_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access, task = _get_task_for_user(request, slug, pk)
    ctx = _ctx(access, task=task)
    if request.htmx:
        return render(request, "imports/task.html#status", ctx)
    return render(request, "imports/task.html", ctx)


def _act(request: HttpRequest, slug: str, pk: int, action) -> HttpResponse:
    access, task = _get_task_for_user(request, slug, pk, role=Role.EDITOR)
    try:
        action(task)
    except ImportTaskError as exc:
        messages.error(request, exc.message)
    return redirect("imports:task", slug, task.pk)


@login_required
@require_POST
def task_apply(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    form = ApplyForm(request.POST)
    if not form.is_valid():
        _get_task_for_user(request, slug, pk, role=Role.EDITOR)
        return HttpResponse("Choose how to apply the import.", status=400)
    return _act(request, slug, pk, lambda t: import_task_apply(task=t, user=request.user, policy=form.cleaned_data["policy"]))


@login_required
@require_POST
def task_cancel(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    return _act(request, slug, pk, lambda t: import_task_cancel(task=t, user=request.user))


@login_required
@require_POST
def task_undo(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    def undo(task: ImportTask) -> None:
        task = import_task_undo(task=task, user=request.user)
        if task.undo_conflicts:
            count = len(task.undo_conflicts)
            messages.warning(request, IMPORT_UNDONE_PARTLY.format(count=count, s=pluralize(count)))
        else:
            messages.success(request, IMPORT_UNDONE)

    return _act(request, slug, pk, undo)


@login_required
@require_GET
def task_error_report(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access, task = _get_task_for_user(request, slug, pk)
    path = error_report_path(task)
    if not task.error_count or not path.exists():
        raise Http404("This task has no error report")
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"errors-{task.uid}.csv",
                        content_type="text/csv; charset=utf-8")


@login_required
@require_GET
def export(request: HttpRequest, slug: str) -> HttpResponse:
    """Stream a small export straight away; queue a large one (or `background=1`) as a task."""
    access = get_access(request.user, slug)
    fmt = request.GET.get("format", "json")
    if fmt not in EXPORT_FORMATS:
        return HttpResponse(EXPORT_UNKNOWN_FORMAT.format(fmt=fmt), status=400, content_type="text/plain")
    try:
        queryset = export_queryset(workspace=access.workspace, params=request.GET)
    except ExportError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain")
    if request.GET.get("background") or queryset.count() > EXPORT_INLINE_MAX_ITEMS:
        task = export_task_create(workspace=access.workspace, user=request.user, params=dict(request.GET.lists()), fmt=fmt)
        return redirect("imports:task", slug, task.pk)
    schema = schema_current(workspace=access.workspace)
    response = StreamingHttpResponse(
        (chunk.encode() for chunk in export_chunks(queryset=queryset, fmt=fmt, schema=schema)),
        content_type=CONTENT_TYPES[fmt],
    )
    response["Content-Disposition"] = f'attachment; filename="{export_name(request.GET, fmt)}"'
    return response


@login_required
@require_GET
def task_download(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access, task = _get_task_for_user(request, slug, pk)
    path = export_file_path(task)
    if not task.is_export or task.status != "COMPLETED" or not path.exists():
        raise Http404("This task has no file to download")
    return FileResponse(path.open("rb"), as_attachment=True, filename=task.file_name, content_type=CONTENT_TYPES[task.format])
