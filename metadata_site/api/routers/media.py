"""Media upload: many image and video files into a folder, each becoming an item (or updating the item of that
title), with optional per-file metadata; a result per file."""

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import File, Form, Router, UploadedFile

from metadata_site.media.services import (
    TOO_LARGE,
    MediaMetadataInvalid,
    MediaRefused,
    item_attach_media,
    media_metadata_check,
    media_queue_new,
    media_store,
    title_from_filename,
)
from metadata_site.media.uploads import oversize_files
from metadata_site.projects.models import Folder

from ..access import write_access
from ..errors import ApiError, responses
from ..schemas import MediaUploadOut

router = Router(tags=["media"])

FILES_REQUIRED = "Send one or more files as the multipart form field `files`."
METADATA_NOT_JSON = "The form field `metadata` must be a JSON object mapping a file name to its metadata object: {error}"
METADATA_NOT_OBJECT = "The form field `metadata` must be a JSON object mapping a file name to its metadata object."
METADATA_ENTRY_NOT_OBJECT = "The metadata of {name!r} must be a JSON object."
METADATA_UNKNOWN_FILE = "The metadata names {name!r}, which is not among the files sent."
NOTHING_ACCEPTED = "No file was accepted: {first}"


def _metadata_form(raw: str | None, names: set[str]) -> dict[str, dict]:
    if raw is None or raw.strip() == "":
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        msg = METADATA_NOT_JSON.format(error=exc)
        raise ApiError(422, msg, [{"loc": ["body", "metadata"], "msg": msg}]) from None
    if not isinstance(value, dict):
        raise ApiError(422, METADATA_NOT_OBJECT, [{"loc": ["body", "metadata"], "msg": METADATA_NOT_OBJECT}])
    for name, md in value.items():
        if name not in names:
            msg = METADATA_UNKNOWN_FILE.format(name=name)
            raise ApiError(422, msg, [{"loc": ["body", "metadata", name], "msg": msg}])
        if not isinstance(md, dict):
            msg = METADATA_ENTRY_NOT_OBJECT.format(name=name)
            raise ApiError(422, msg, [{"loc": ["body", "metadata", name], "msg": msg}])
    return value


def _failed(index: int, name: str, code: int, message: str, errors: list[dict] | None = None) -> dict[str, Any]:
    return {"index": index, "file": name, "status": "failed", "uid": None, "code": code, "error": message,
            "errors": errors or []}


@router.post("/w/{slug}/folders/{folder_id}/media", response=responses(MediaUploadOut, codes={400, 401, 403, 404, 413, 415, 422}))
def media_upload(
    request: HttpRequest,
    slug: str,
    folder_id: int,
    files: list[UploadedFile] = File(None),  # noqa: B008
    metadata: str | None = Form(None),  # noqa: B008
):
    """Upload images and videos (multipart field `files`, repeated) into a folder. Each file becomes an item titled
    by its file name, or updates the item with that title in the folder. The type is read from the bytes: JPEG,
    PNG, WebP, GIF, BMP, TIFF, MP4, WebM and MOV are accepted. `metadata` (optional form field) is a JSON object
    mapping a file name to its metadata, validated against the schema (merged into an existing item's).

    Each file is handled on its own: `results` has one row per file, in order, with `status` created, updated
    or failed (with `code`: 413 too large, 415 not an accepted type, 409 the title belongs to an image group,
    422 unreadable header or metadata that does not fit the schema). When no file is accepted at all, the
    answer itself is that error (4xx). Thumbnails and properties follow from the background worker
    (`media.status` of the item: pending, then ready or error).
    """
    access = write_access(request, slug)
    folder = get_object_or_404(Folder, workspace=access.workspace, pk=folder_id)
    files = list(files or [])
    oversize = oversize_files(request)
    if not files and not oversize:
        raise ApiError(400, FILES_REQUIRED, [{"loc": ["body", "files"], "msg": FILES_REQUIRED}])
    per_file = _metadata_form(metadata, {f.name for f in files} | set(oversize.values()))
    results: list[dict[str, Any]] = []
    uploads = iter(files)
    item_ids: dict = {}
    for index in range(len(files) + len(oversize)):
        if index in oversize:
            too_large = TOO_LARGE.format(limit=settings.MEDIA_MAX_UPLOAD_BYTES)
            results.append(_failed(index, oversize[index], 413, too_large))
            continue
        upload = next(uploads)
        name = upload.name or ""
        try:
            title = title_from_filename(name)
            md = per_file.get(name)
            media_metadata_check(workspace=access.workspace, metadata=md)
            blob = media_store(data=upload.file, filename=name)
            item = item_attach_media(workspace=access.workspace, folder=folder, title=title, blob=blob, metadata=md,
                                     user=request.auth, queue=False)
        except MediaMetadataInvalid as exc:
            errors = [{"loc": ["metadata", name, e["key"]], "msg": e["msg"]} for e in exc.errors]
            results.append(_failed(index, name, exc.status, exc.message, errors))
            continue
        except MediaRefused as exc:
            results.append(_failed(index, name, exc.status, exc.message))
            continue
        finally:
            upload.close()
        item_ids[item.uid] = item.pk
        results.append({"index": index, "file": name, "status": "created" if item.created else "updated",
                        "uid": item.uid, "code": None, "error": None, "errors": []})
    media_queue_new([item_ids[r["uid"]] for r in results if r["uid"] is not None])  # one worker task per call
    failed = [r for r in results if r["status"] == "failed"]
    if len(failed) == len(results):
        codes = {r["code"] for r in failed}
        first = f"{failed[0]['file']}: {failed[0]['error']}"
        errors = [{"loc": ["body", "files", r["index"]], "msg": f"{r['file']}: {r['error']}"} for r in failed]
        raise ApiError(codes.pop() if len(codes) == 1 else 422, NOTHING_ACCEPTED.format(first=first), errors)
    return {
        "created": sum(r["status"] == "created" for r in results),
        "updated": sum(r["status"] == "updated" for r in results),
        "failed": len(failed),
        "results": results,
    }

