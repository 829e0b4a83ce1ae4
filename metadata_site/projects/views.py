from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from metadata_site.items.models import Item
from metadata_site.workspaces.access import Access, get_access
from metadata_site.workspaces.models import Role

from .models import Dataset, Folder, Project
from .selectors import folder_subtree_counts

ITEMS_PER_PAGE = 60


def _get_project_for_user(request: HttpRequest, slug: str, pk: int, *, role: str = Role.VIEWER):
    access = get_access(request.user, slug, role=role)
    return access, get_object_or_404(Project, workspace=access.workspace, pk=pk)


def _get_dataset_for_user(request: HttpRequest, slug: str, pk: int, *, role: str = Role.VIEWER):
    access = get_access(request.user, slug, role=role)
    return access, get_object_or_404(Dataset.objects.select_related("project"), workspace=access.workspace, pk=pk)


def _get_folder_for_user(request: HttpRequest, slug: str, pk: int, *, role: str = Role.VIEWER):
    access = get_access(request.user, slug, role=role)
    return access, get_object_or_404(Folder, workspace=access.workspace, pk=pk)


def _page(request: HttpRequest, items) -> object:
    return Paginator(items, ITEMS_PER_PAGE).get_page(request.GET.get("page"))


def _ctx(access: Access, **extra) -> dict:
    return {"workspace": access.workspace, "access": access, **extra}


@login_required
@require_GET
def project_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access, project = _get_project_for_user(request, slug, pk)
    datasets = project.datasets.annotate(item_count=Count("memberships"))
    return render(request, "projects/project.html", _ctx(access, project=project, datasets=datasets, tab="overview"))


@login_required
@require_GET
def dataset_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access, dataset = _get_dataset_for_user(request, slug, pk)
    items = Item.objects.filter(dataset_memberships__dataset=dataset).order_by("id")
    ctx = _ctx(access, dataset=dataset, project=dataset.project, page=_page(request, items), tab="overview")
    return render(request, "projects/dataset.html", ctx)


@login_required
@require_GET
def folder_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access, folder = _get_folder_for_user(request, slug, pk)
    items = Item.objects.filter(folder=folder).top_level().order_by("title", "id")
    subfolders = list(folder.children.all())
    # Counted as the explorer counts a folder: with its subfolders, every kind of item.
    counts = folder_subtree_counts([folder, *subfolders], workspace=access.workspace)
    for sub in subfolders:
        sub.item_count = counts[sub.pk]
    ctx = _ctx(
        access,
        folder=folder,
        ancestors=folder.ancestors(),
        subfolders=subfolders,
        total=counts[folder.pk],
        page=_page(request, items),
    )
    return render(request, "projects/folder.html", ctx)
