from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from metadata_site.workspaces.access import get_access

from .models import ImportTask


@login_required
@require_GET
def task_list(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_access(request.user, slug)
    tasks = ImportTask.objects.filter(workspace=access.workspace)[:100]
    return render(request, "imports/list.html", {"workspace": access.workspace, "access": access, "tasks": tasks})
