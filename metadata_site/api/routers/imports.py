"""Import tasks: create, upload the file, read the dry-run result and status, apply, cancel, undo."""

from uuid import UUID

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import File, Query, Router, Status, UploadedFile

from metadata_site.imports.models import ImportKind, ImportTask
from metadata_site.imports.services import (
    ImportTaskError,
    import_task_apply,
    import_task_cancel,
    import_task_create,
    import_task_undo,
    import_task_upload,
)

from ..access import read_access, write_access
from ..errors import ApiError, responses
from ..pagination import next_url, paginate
from ..schemas import ApplyIn, ImportTaskIn, ImportTaskOut, ImportTaskPage

router = Router(tags=["imports"])

UPLOAD_FILE_REQUIRED = "Send the file as the multipart form field `file`."


def _task_error(exc: ImportTaskError) -> ApiError:
    return ApiError(409, exc.message)


def _task(workspace, task_id: UUID) -> ImportTask:
    return get_object_or_404(ImportTask.objects.exclude(kind=ImportKind.EXPORT), workspace=workspace, uid=task_id)


@router.get("/w/{slug}/imports", response=responses(ImportTaskPage))
def import_list(request: HttpRequest, slug: str, limit: int = Query(50, ge=1, le=1000), cursor: str | None = None):
    access = read_access(request, slug)
    qs = ImportTask.objects.filter(workspace=access.workspace).exclude(kind=ImportKind.EXPORT).order_by("-pk")
    count, rows, nxt = paginate(qs, limit=limit, cursor=cursor, keyset=False)
    return {"count": count, "results": rows, "next": next_url(request, nxt)}


@router.post("/w/{slug}/imports", response=responses(ImportTaskOut, status=201))
def import_create(request: HttpRequest, slug: str, payload: ImportTaskIn):
    """A new task waiting for its file (status INIT)."""
    access = write_access(request, slug)
    try:
        task = import_task_create(workspace=access.workspace, user=request.auth, kind=payload.kind,
                                  target=payload.target, mode=payload.mode, dry_run=payload.dry_run,
                                  policy=payload.policy)
    except ImportTaskError as exc:
        raise ApiError(422, exc.message, [{"loc": ["body"], "msg": exc.message}]) from None
    return Status(201, task)


@router.get("/w/{slug}/imports/{uuid:task_id}", response=responses(ImportTaskOut))
def import_detail(request: HttpRequest, slug: str, task_id: UUID):
    """Status, progress and the check's result: row counts and sample errors ({reason, row_index})."""
    return _task(read_access(request, slug).workspace, task_id)


@router.post("/w/{slug}/imports/{uuid:task_id}/upload", response=responses(ImportTaskOut))
def import_upload(request: HttpRequest, slug: str, task_id: UUID, file: UploadedFile = File(...)):  # noqa: B008
    """Upload the task's file (JSON, JSONL or CSV); the check starts in the background."""
    access = write_access(request, slug)
    task = _task(access.workspace, task_id)
    try:
        return import_task_upload(task=task, name=file.name or "upload", chunks=file.chunks())
    except ImportTaskError as exc:
        raise _task_error(exc) from None


@router.post("/w/{slug}/imports/{uuid:task_id}/apply", response=responses(ImportTaskOut))
def import_apply(request: HttpRequest, slug: str, task_id: UUID, payload: ApplyIn):
    access = write_access(request, slug)
    try:
        return import_task_apply(task=_task(access.workspace, task_id), user=request.auth, policy=payload.policy)
    except ImportTaskError as exc:
        raise _task_error(exc) from None


@router.post("/w/{slug}/imports/{uuid:task_id}/cancel", response=responses(ImportTaskOut))
def import_cancel(request: HttpRequest, slug: str, task_id: UUID):
    access = write_access(request, slug)
    try:
        return import_task_cancel(task=_task(access.workspace, task_id), user=request.auth)
    except ImportTaskError as exc:
        raise _task_error(exc) from None


@router.post("/w/{slug}/imports/{uuid:task_id}/undo", response=responses(ImportTaskOut))
def import_undo(request: HttpRequest, slug: str, task_id: UUID):
    access = write_access(request, slug)
    try:
        return import_task_undo(task=_task(access.workspace, task_id), user=request.auth)
    except ImportTaskError as exc:
        raise _task_error(exc) from None
