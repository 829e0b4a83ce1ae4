from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from metadata_site.items.models import Item
from metadata_site.workspaces.access import get_access


@login_required
@require_GET
def explore(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_access(request.user, slug)
    items = Item.objects.filter(workspace=access.workspace).top_level().order_by("id")
    page = Paginator(items, 60).get_page(request.GET.get("page"))
    return render(request, "explorer/explore.html", {"workspace": access.workspace, "access": access, "page": page})
