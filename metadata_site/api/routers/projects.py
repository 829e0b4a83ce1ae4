"""Projects and datasets: lists, details, and their Info (README, custom data) with ETags."""

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Query, Router

from metadata_site.projects.models import Dataset, Project

from ..access import read_access
from ..errors import responses
from ..pagination import next_url, paginate
from ..schemas import DatasetOut, DatasetPage, InfoOut, ProjectOut, ProjectPage, ReadmeOut

router = Router()


def _datasets(workspace):
    return Dataset.objects.filter(workspace=workspace).annotate(item_count=Count("memberships"))


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


@router.get("/w/{slug}/projects", response=responses(ProjectPage), tags=["projects"])
def project_list(request: HttpRequest, slug: str, limit: int = Query(100, ge=1, le=1000), cursor: str | None = None):
    access = read_access(request, slug)
    qs = Project.objects.filter(workspace=access.workspace).order_by("pk")
    count, rows, nxt = paginate(qs, limit=limit, cursor=cursor)
    return {"count": count, "results": rows, "next": next_url(request, nxt)}


@router.get("/w/{slug}/projects/{project_id}", response=responses(ProjectOut), tags=["projects"])
def project_detail(request: HttpRequest, slug: str, project_id: int):
    return _get_project(request, slug, project_id)


@router.get("/w/{slug}/projects/{project_id}/info", response=responses(InfoOut), tags=["projects"])
def project_info(request: HttpRequest, slug: str, project_id: int):
    return _info(_get_project(request, slug, project_id))


@router.get("/w/{slug}/projects/{project_id}/readme", response=responses(ReadmeOut), tags=["projects"])
def project_readme(request: HttpRequest, slug: str, project_id: int, response: HttpResponse):
    """The README (Markdown); the ETag is its version."""
    project = _get_project(request, slug, project_id)
    response["ETag"] = etag(project.readme_version)
    return {"readme": project.readme, "version": project.readme_version, "updated_at": project.updated_at}


@router.get("/w/{slug}/projects/{project_id}/custom_data", response=responses(dict), tags=["projects"])
def project_custom_data(request: HttpRequest, slug: str, project_id: int, response: HttpResponse):
    """The custom data object itself; the ETag is its version (send it back as If-Match when writing)."""
    project = _get_project(request, slug, project_id)
    response["ETag"] = etag(project.custom_data_version)
    return project.custom_data


@router.get("/w/{slug}/datasets", response=responses(DatasetPage), tags=["datasets"])
def dataset_list(
    request: HttpRequest,
    slug: str,
    project: int | None = None,
    limit: int = Query(100, ge=1, le=1000),
    cursor: str | None = None,
):
    access = read_access(request, slug)
    qs = _datasets(access.workspace).order_by("pk")
    if project is not None:
        qs = qs.filter(project_id=project)
    count, rows, nxt = paginate(qs, limit=limit, cursor=cursor)
    return {"count": count, "results": rows, "next": next_url(request, nxt)}


@router.get("/w/{slug}/datasets/{dataset_id}", response=responses(DatasetOut), tags=["datasets"])
def dataset_detail(request: HttpRequest, slug: str, dataset_id: int):
    return _get_dataset(request, slug, dataset_id)


@router.get("/w/{slug}/datasets/{dataset_id}/info", response=responses(InfoOut), tags=["datasets"])
def dataset_info(request: HttpRequest, slug: str, dataset_id: int):
    return _info(_get_dataset(request, slug, dataset_id))


@router.get("/w/{slug}/datasets/{dataset_id}/readme", response=responses(ReadmeOut), tags=["datasets"])
def dataset_readme(request: HttpRequest, slug: str, dataset_id: int, response: HttpResponse):
    dataset = _get_dataset(request, slug, dataset_id)
    response["ETag"] = etag(dataset.readme_version)
    return {"readme": dataset.readme, "version": dataset.readme_version, "updated_at": dataset.updated_at}


@router.get("/w/{slug}/datasets/{dataset_id}/custom_data", response=responses(dict), tags=["datasets"])
def dataset_custom_data(request: HttpRequest, slug: str, dataset_id: int, response: HttpResponse):
    dataset = _get_dataset(request, slug, dataset_id)
    response["ETag"] = etag(dataset.custom_data_version)
    return dataset.custom_data
