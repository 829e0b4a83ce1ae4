from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from metadata_site.collections.models import Collection
from metadata_site.projects.models import Dataset, Folder, Project
from metadata_site.projects.selectors import folder_subtree_counts

from .access import get_access
from .forms import TasksPageForm
from .models import Workspace
from .selectors import workspace_tasks


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    workspaces = list(Workspace.objects.visible_to(request.user))
    if len(workspaces) == 1:
        return redirect("workspaces:home", workspaces[0].slug)
    return render(request, "workspaces/index.html", {"workspaces": workspaces})


@login_required
@require_GET
def home(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_access(request.user, slug)
    ws = access.workspace
    folders = list(Folder.objects.filter(workspace=ws, parent=None))
    # With subfolders, as the explorer counts them; bounded: this is the page every login lands on.
    counts = folder_subtree_counts(folders, workspace=ws)
    for folder in folders:
        folder.item_count = counts[folder.pk]
    ctx = {
        "workspace": ws,
        "access": access,
        "projects": Project.objects.filter(workspace=ws).annotate(dataset_count=Count("datasets")),
        "datasets": Dataset.objects.filter(workspace=ws).select_related("project"),
        "folders": folders,
        "collections": Collection.objects.filter(workspace=ws)[:10],
        "tasks": workspace_tasks(workspace=ws, page_size=5, count=False).tasks,
    }
    return render(request, "workspaces/home.html", ctx)


@login_required
@require_GET
def tasks(request: HttpRequest, slug: str) -> HttpResponse:
    """Every background task of the workspace, whatever its kind, newest first, with its progress (members only).
    While one runs, the list polls itself (htmx renders #tasks)."""
    access = get_access(request.user, slug)
    form = TasksPageForm(request.GET)
    if not form.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
        return HttpResponseBadRequest(problems, content_type="text/plain; charset=utf-8")
    page = workspace_tasks(workspace=access.workspace, page=form.cleaned_data["page"])
    ctx = {"workspace": access.workspace, "access": access, "page": page,
           "polling": any(t.is_active for t in page.tasks)}
    return render(request, "workspaces/tasks.html#tasks" if request.htmx else "workspaces/tasks.html", ctx)


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for on their own: the static icon (pages link it from the base template)."""
    response = redirect(static("favicon.ico"))
    response["Cache-Control"] = "public, max-age=86400"
    return response
