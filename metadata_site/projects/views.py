from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import cached_property
from django.views.decorators.http import require_GET, require_POST

from metadata_site.items.models import Item
from metadata_site.media.selectors import item_tiles
from metadata_site.workspaces.access import Access, get_access
from metadata_site.workspaces.models import Role

from .models import Dataset, Folder, Project
from .selectors import capped_count, folder_subtree_counts, past_count_cap
from .services import ProjectDatasetError, project_attach_dataset, project_detach_dataset

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


class CappedPaginator(Paginator):
    """Counts at most FOLDER_COUNT_CAP + 1 items (`selectors.capped_count`): a folder or dataset of millions pages
    without counting them all ("page 3 · more than 100,000 items"; the explorer counts its scope exactly and pages on
    with a cursor)."""

    @cached_property
    def count(self) -> int:
        return capped_count(self.object_list)

    @property
    def capped(self) -> bool:
        return past_count_cap(self.count)

    @property
    def exact_count(self) -> int | None:
        """The count when it is exact, else None."""
        return None if self.capped else self.count


def _page(request: HttpRequest, items) -> object:
    return CappedPaginator(items, ITEMS_PER_PAGE).get_page(request.GET.get("page"))


def _ctx(access: Access, **extra) -> dict:
    return {"workspace": access.workspace, "access": access, **extra}


@login_required
@require_GET
def project_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access, project = _get_project_for_user(request, slug, pk)
    return _render_project(request, access, project)


def _render_project(request: HttpRequest, access: Access, project: Project, *, error: str = "",
                    status: int = 200) -> HttpResponse:
    datasets = project.linked_datasets.annotate(item_count=Count("memberships")).order_by("name")
    others = Dataset.objects.filter(workspace=access.workspace).exclude(project_links__project=project)
    ctx = _ctx(access, project=project, datasets=datasets, others=others.select_related("project").order_by("name"), error=error,
               tab="overview")
    return render(request, "projects/project.html", ctx, status=status)


def _dataset_for_form(request: HttpRequest, access: Access) -> Dataset | None:
    raw = request.POST.get("dataset", "")
    if not raw.isdigit():
        return None
    return Dataset.objects.filter(workspace=access.workspace, pk=int(raw)).first()


ATTACH_NO_DATASET = "Choose a dataset of this workspace to attach."


@login_required
@require_POST
def project_attach_dataset_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access, project = _get_project_for_user(request, slug, pk, role=Role.EDITOR)
    dataset = _dataset_for_form(request, access)
    if dataset is None:
        return _render_project(request, access, project, error=ATTACH_NO_DATASET, status=400)
    project_attach_dataset(project=project, dataset=dataset)
    return redirect("projects:project", slug, project.pk)


@login_required
@require_POST
def project_detach_dataset_view(request: HttpRequest, slug: str, pk: int, dataset_pk: int) -> HttpResponse:
    access, project = _get_project_for_user(request, slug, pk, role=Role.EDITOR)
    dataset = get_object_or_404(Dataset, workspace=access.workspace, pk=dataset_pk)
    try:
        project_detach_dataset(project=project, dataset=dataset)
    except ProjectDatasetError as exc:
        return _render_project(request, access, project, error=exc.message, status=400)
    return redirect("projects:project", slug, project.pk)


@login_required
@require_GET
def dataset_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access, dataset = _get_dataset_for_user(request, slug, pk)
    items = Item.objects.filter(dataset_memberships__dataset=dataset).order_by("id")
    page = _page(request, items)
    ctx = _ctx(access, dataset=dataset, project=dataset.project, page=page,
               tiles=item_tiles(slug=access.workspace.slug, items=page, request=request), tab="overview",
               projects=dataset.projects.order_by("name"))
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
    page = _page(request, items)
    ctx = _ctx(
        access,
        folder=folder,
        ancestors=folder.ancestors(),
        subfolders=subfolders,
        total=counts[folder.pk],
        page=page,
        tiles=item_tiles(slug=access.workspace.slug, items=page, request=request),
    )
    return render(request, "projects/folder.html", ctx)
