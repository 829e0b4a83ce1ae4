"""Projects and datasets: lists, details, and their Info (README, custom data) with ETags.

GET returns an ETag (the version); send it back as If-Match to write only on top of what you read (412 when
it is stale). Without If-Match a PUT writes unconditionally; a PATCH always applies to the version it read
(409 if someone saved in between). `silent=true` leaves `updated_at` unchanged.
"""

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Query, Router
from ninja.pagination import paginate

from metadata_site.lib.mergepatch import merge_patch
from metadata_site.projects.models import Dataset, Project
from metadata_site.projects.services import (
    CustomDataInvalid,
    InfoConflict,
    InfoError,
    info_save_custom_data,
    info_save_readme,
)

from ..access import read_access, write_access
from ..bodies import if_match_version, object_body, strict_object
from ..errors import PRECONDITION_FAILED, ApiError, responses
from ..paging import CursorPage
from ..schemas import DatasetOut, DatasetPage, InfoOut, ProjectOut, ProjectPage, ReadmeIn, ReadmeOut

router = Router()


def _datasets(workspace):
    return (
        Dataset.objects.filter(workspace=workspace)
        .annotate(item_count=Count("memberships"))
        .prefetch_related("project_links")
    )


def _get_project(request: HttpRequest, slug: str, project_id: int) -> Project:
    access = read_access(request, slug)
    return get_object_or_404(Project, workspace=access.workspace, pk=project_id)


def _get_dataset(request: HttpRequest, slug: str, dataset_id: int) -> Dataset:
    access = read_access(request, slug)
    return get_object_or_404(_datasets(access.workspace), pk=dataset_id)


def etag(version: int) -> str:
    return f'"{version}"'


def _info(obj) -> dict:
    return {
        "readme": obj.readme,
        "readme_version": obj.readme_version,
        "custom_data": obj.custom_data,
        "custom_data_version": obj.custom_data_version,
        "updated_at": obj.updated_at,
        "updated_by": obj.updated_by.username if obj.updated_by_id else None,
    }


def _readme_out(obj: Project | Dataset, response: HttpResponse) -> dict:
    """The README of a project or dataset; the ETag is its version."""
    response["ETag"] = etag(obj.readme_version)
    return {"readme": obj.readme, "version": obj.readme_version, "updated_at": obj.updated_at}


def _custom_data_out(obj: Project | Dataset, response: HttpResponse) -> dict:
    """The custom data object itself; the ETag is its version."""
    response["ETag"] = etag(obj.custom_data_version)
    return obj.custom_data


@router.get("/w/{slug}/projects", response=responses(ProjectPage), tags=["projects"])
@paginate(CursorPage)
def project_list(request: HttpRequest, slug: str):
    access = read_access(request, slug)
    return Project.objects.filter(workspace=access.workspace).order_by("pk")


@router.get("/w/{slug}/projects/{int:project_id}", response=responses(ProjectOut), tags=["projects"])
def project_detail(request: HttpRequest, slug: str, project_id: int):
    return _get_project(request, slug, project_id)


@router.get("/w/{slug}/projects/{int:project_id}/info", response=responses(InfoOut), tags=["projects"])
def project_info(request: HttpRequest, slug: str, project_id: int):
    return _info(_get_project(request, slug, project_id))


@router.get("/w/{slug}/projects/{int:project_id}/readme", response=responses(ReadmeOut), tags=["projects"])
def project_readme(request: HttpRequest, slug: str, project_id: int, response: HttpResponse):
    """The README (Markdown); the ETag is its version."""
    return _readme_out(_get_project(request, slug, project_id), response)


@router.get("/w/{slug}/projects/{int:project_id}/custom_data", response=responses(dict), tags=["projects"])
def project_custom_data(request: HttpRequest, slug: str, project_id: int, response: HttpResponse):
    """The custom data object itself; the ETag is its version (send it back as If-Match when writing)."""
    return _custom_data_out(_get_project(request, slug, project_id), response)


@router.get("/w/{slug}/datasets", response=responses(DatasetPage), tags=["datasets"])
@paginate(CursorPage)
def dataset_list(
    request: HttpRequest,
    slug: str,
    project: int | None = Query(None, ge=1, le=2**63 - 1),
):
    access = read_access(request, slug)
    qs = _datasets(access.workspace).order_by("pk")
    if project is not None:
        qs = qs.filter(project_links__project_id=project)
    return qs


@router.get("/w/{slug}/datasets/{int:dataset_id}", response=responses(DatasetOut), tags=["datasets"])
def dataset_detail(request: HttpRequest, slug: str, dataset_id: int):
    return _get_dataset(request, slug, dataset_id)


@router.get("/w/{slug}/datasets/{int:dataset_id}/info", response=responses(InfoOut), tags=["datasets"])
def dataset_info(request: HttpRequest, slug: str, dataset_id: int):
    return _info(_get_dataset(request, slug, dataset_id))


@router.get("/w/{slug}/datasets/{int:dataset_id}/readme", response=responses(ReadmeOut), tags=["datasets"])
def dataset_readme(request: HttpRequest, slug: str, dataset_id: int, response: HttpResponse):
    return _readme_out(_get_dataset(request, slug, dataset_id), response)


@router.get("/w/{slug}/datasets/{int:dataset_id}/custom_data", response=responses(dict), tags=["datasets"])
def dataset_custom_data(request: HttpRequest, slug: str, dataset_id: int, response: HttpResponse):
    return _custom_data_out(_get_dataset(request, slug, dataset_id), response)


# --- writes ----------------------------------------------------------------------------------------------------

CUSTOM_DATA_BODY = object_body("The new custom data (PUT: the whole object; PATCH: a JSON Merge Patch, RFC 7386).")


def _project(request: HttpRequest, slug: str, project_id: int) -> Project:
    access = write_access(request, slug)
    return get_object_or_404(Project, workspace=access.workspace, pk=project_id)


def _dataset(request: HttpRequest, slug: str, dataset_id: int) -> Dataset:
    access = write_access(request, slug)
    return get_object_or_404(Dataset, workspace=access.workspace, pk=dataset_id)


def _save_custom_data(request, response, obj, data: dict, *, base_version: int | None, silent: bool, stale: int):
    try:
        info_save_custom_data(obj=obj, data=data, user=request.auth, base_version=base_version, silent=silent)
    except InfoConflict as exc:
        raise ApiError(stale, PRECONDITION_FAILED if stale == 412 else exc.message) from None
    except CustomDataInvalid as exc:
        errors = [{"loc": ["body", *e.get("loc", [])], "msg": e["msg"]} for e in exc.errors]
        raise ApiError(422, exc.message, errors) from None
    except InfoError as exc:
        raise ApiError(422, exc.message) from None
    return _custom_data_out(obj, response)


def _put(request, response, obj, silent: bool):
    base = if_match_version(request)
    return _save_custom_data(request, response, obj, strict_object(request), base_version=base, silent=silent,
                             stale=412)


def _patch(request, response, obj, silent: bool):
    base = if_match_version(request)
    patch = strict_object(request)
    stale = 412 if base is not None else 409
    if base is not None and base != obj.custom_data_version:
        raise ApiError(412, PRECONDITION_FAILED)
    data = merge_patch(obj.custom_data, patch)
    return _save_custom_data(request, response, obj, data, base_version=obj.custom_data_version, silent=silent,
                             stale=stale)


def _save_readme(request, response, obj, payload: ReadmeIn, silent: bool):
    try:
        info_save_readme(obj=obj, text=payload.readme, user=request.auth, base_version=if_match_version(request),
                         silent=silent)
    except InfoConflict:
        raise ApiError(412, PRECONDITION_FAILED) from None
    except InfoError as exc:
        raise ApiError(422, exc.message, [{"loc": ["body", "readme"], "msg": exc.message}]) from None
    return _readme_out(obj, response)


@router.put("/w/{slug}/projects/{int:project_id}/custom_data", response=responses(dict), tags=["projects"],
            openapi_extra=CUSTOM_DATA_BODY)
def project_custom_data_put(request: HttpRequest, slug: str, project_id: int, response: HttpResponse,
                            silent: bool = False):
    """Replace the custom data. If-Match: the ETag you read (412 when it is stale)."""
    return _put(request, response, _project(request, slug, project_id), silent)


@router.patch("/w/{slug}/projects/{int:project_id}/custom_data", response=responses(dict), tags=["projects"],
              openapi_extra=CUSTOM_DATA_BODY)
def project_custom_data_patch(request: HttpRequest, slug: str, project_id: int, response: HttpResponse,
                              silent: bool = False):
    """Merge into the custom data (JSON Merge Patch: null removes a key)."""
    return _patch(request, response, _project(request, slug, project_id), silent)


@router.put("/w/{slug}/projects/{int:project_id}/readme", response=responses(ReadmeOut), tags=["projects"])
def project_readme_put(request: HttpRequest, slug: str, project_id: int, payload: ReadmeIn, response: HttpResponse,
                       silent: bool = False):
    return _save_readme(request, response, _project(request, slug, project_id), payload, silent)


@router.put("/w/{slug}/datasets/{int:dataset_id}/custom_data", response=responses(dict), tags=["datasets"],
            openapi_extra=CUSTOM_DATA_BODY)
def dataset_custom_data_put(request: HttpRequest, slug: str, dataset_id: int, response: HttpResponse,
                            silent: bool = False):
    return _put(request, response, _dataset(request, slug, dataset_id), silent)


@router.patch("/w/{slug}/datasets/{int:dataset_id}/custom_data", response=responses(dict), tags=["datasets"],
              openapi_extra=CUSTOM_DATA_BODY)
def dataset_custom_data_patch(request: HttpRequest, slug: str, dataset_id: int, response: HttpResponse,
                              silent: bool = False):
    return _patch(request, response, _dataset(request, slug, dataset_id), silent)


@router.put("/w/{slug}/datasets/{int:dataset_id}/readme", response=responses(ReadmeOut), tags=["datasets"])
def dataset_readme_put(request: HttpRequest, slug: str, dataset_id: int, payload: ReadmeIn, response: HttpResponse,
                       silent: bool = False):
    return _save_readme(request, response, _dataset(request, slug, dataset_id), payload, silent)
