from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from metadata_site.workspaces.models import Workspace

from .models import SshKey
from .services import SSH_KEY_WORKSPACE_FORBIDDEN, SshKeyInvalid, ssh_key_add, ssh_key_remove


def _settings_url() -> str:
    return reverse("accounts:settings") + "#ssh-keys"


@login_required
@require_POST
def ssh_key_add_view(request: HttpRequest) -> HttpResponse:
    workspace = None
    try:
        if workspace_id := request.POST.get("workspace", "").strip():
            workspace = Workspace.objects.visible_to(request.user).filter(pk=int(workspace_id)).first()
            if workspace is None:
                raise SshKeyInvalid(SSH_KEY_WORKSPACE_FORBIDDEN)
        key = ssh_key_add(
            user=request.user, public_key=request.POST.get("public_key", ""), name=request.POST.get("name", ""),
            workspace=workspace,
        )
    except (SshKeyInvalid, ValueError) as exc:
        ctx = {"ssh_key_error": str(exc), "ssh_key_value": request.POST.get("public_key", "")[:2000],
               "ssh_key_name": request.POST.get("name", "")[:100]}
        return render(request, "compat/ssh_key_add.html", ctx, status=400)
    messages.success(request, f"SSH key “{key.name}” added ({key.fingerprint}).")
    return redirect(_settings_url())


@login_required
@require_POST
def ssh_key_remove_view(request: HttpRequest, key_id: int) -> HttpResponse:
    try:
        key = ssh_key_remove(user=request.user, key_id=key_id)
    except SshKey.DoesNotExist:
        raise Http404("No such key") from None
    messages.success(request, f"SSH key “{key.name}” removed.")
    return redirect(_settings_url())
