from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from metadata_site.workspaces.access import get_access

from .selectors import schema_current


@login_required
@require_GET
def schema_page(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_access(request.user, slug)
    ctx = {"workspace": access.workspace, "access": access, "schema": schema_current(workspace=access.workspace)}
    return render(request, "schemas/schema.html", ctx)
