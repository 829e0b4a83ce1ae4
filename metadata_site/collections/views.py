from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from metadata_site.workspaces.access import get_access

from .models import Collection


@login_required
@require_GET
def collection_list(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_access(request.user, slug)
    collections = Collection.objects.filter(workspace=access.workspace).annotate(item_count=Count("memberships"))
    ctx = {"workspace": access.workspace, "access": access, "collections": collections}
    return render(request, "collections/list.html", ctx)
