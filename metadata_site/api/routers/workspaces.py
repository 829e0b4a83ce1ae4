from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from metadata_site.projects.models import Folder
from metadata_site.workspaces.models import Membership

from ..access import read_access
from ..errors import responses
from ..paging import CursorPage
from ..schemas import FolderPage, WorkspaceOut, WorkspacePage

router = Router(tags=["workspaces"])


def _workspace(m: Membership) -> dict:
    return {"slug": m.workspace.slug, "name": m.workspace.name, "role": m.role}


@router.get("/workspaces", response=responses(WorkspacePage))
@paginate(CursorPage, row=_workspace)
def workspace_list(request: HttpRequest):
    """The workspaces you belong to, with your role in each."""
    return Membership.objects.filter(user=request.auth).select_related("workspace").order_by("pk")


@router.get("/w/{slug}", response=responses(WorkspaceOut))
def workspace_detail(request: HttpRequest, slug: str):
    access = read_access(request, slug)
    return {"slug": access.workspace.slug, "name": access.workspace.name, "role": access.membership.role}


@router.get("/w/{slug}/folders", response=responses(FolderPage), tags=["folders"])
@paginate(CursorPage, limit=1000)
def folder_list(request: HttpRequest, slug: str):
    """The folder tree as a flat list: each folder names its `parent` (null for a root)."""
    access = read_access(request, slug)
    return Folder.objects.filter(workspace=access.workspace).order_by("pk")
