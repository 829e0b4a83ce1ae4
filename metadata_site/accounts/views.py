from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from . import throttle
from .models import ApiToken
from .services import api_token_create, api_token_revoke


def _render_settings(request: HttpRequest, *, new_token: str = "", token_error: str = "", status: int = 200):
    ctx = {
        "memberships": request.user.memberships.select_related("workspace"),
        "tokens": ApiToken.objects.filter(user=request.user),
        "new_token": new_token,
        "token_error": token_error,
    }
    return render(request, "accounts/settings.html", ctx, status=status)


@login_required
@require_GET
def settings_page(request: HttpRequest) -> HttpResponse:
    return _render_settings(request)


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    # Rendered, not redirected: the raw token exists only in this response and is never stored.
    try:
        _token, raw = api_token_create(user=request.user, name=request.POST.get("name", ""))
    except ValueError as exc:
        return _render_settings(request, token_error=str(exc), status=400)
    return _render_settings(request, new_token=raw)


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = api_token_revoke(user=request.user, token_id=token_id)
    except ApiToken.DoesNotExist:
        raise Http404("No such token") from None
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("accounts:settings")


class ThrottledLoginView(auth_views.LoginView):
    """Django's login view with a per (username, IP) failure limit (see `throttle`): a locked pair gets 429 and
    a clear message, without its password even being checked."""

    template_name = "accounts/login.html"

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        username, ip = request.POST.get("username", ""), throttle.client_ip(request)
        locked = throttle.login_locked_for(username=username, ip=ip)
        if locked:
            form = self.get_form_class()(request, initial={"username": username})
            ctx = self.get_context_data(form=form, throttle_error=throttle.locked_message(locked))
            return self.render_to_response(ctx, status=429)
        response = super().post(request, *args, **kwargs)
        if request.user.is_authenticated:
            throttle.login_failures_clear(username=username, ip=ip)
        else:
            throttle.login_failure_record(username=username, ip=ip)
        return response
