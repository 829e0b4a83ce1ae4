from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@login_required
@require_GET
def settings_page(request: HttpRequest) -> HttpResponse:
    ctx = {"memberships": request.user.memberships.select_related("workspace")}
    return render(request, "accounts/settings.html", ctx)
