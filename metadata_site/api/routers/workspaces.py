from django.http import HttpRequest
from ninja import Query, Router

from metadata_site.projects.models import Folder
from metadata_site.workspaces.models import Membership

from ..access import read_access
from ..errors import responses
from ..pagination import next_url, paginate
from ..schemas import FolderPage, WorkspaceOut, WorkspacePage

router = Router(tags=["workspaces"])


@router.get("/workspaces", response=responses(WorkspacePage))
def workspace_list(request: HttpRequest, limit: int = Query(100, ge=1, le=1000), cursor: str | None = None):
    """The workspaces you belong to, with your role in each."""
    qs = Membership.objects.filter(user=request.auth).select_related("workspace").order_by("pk")
    count, rows, nxt = paginate(qs, limit=limit, cursor=cursor)
    results = [{"slug": m.workspace.slug, "name": m.workspace.name, "role": m.role} for m in rows]
    return {"count": count, "results": results, "next": next_url(request, nxt)}


@router.get("/w/{slug}", response=responses(WorkspaceOut))
def workspace_detail(request: HttpRequest, slug: str):
    access = read_access(request, slug)
    return {"slug": access.workspace.slug, "name": access.workspace.name, "role": access.membership.role}


@router.get("/w/{slug}/folders", response=responses(FolderPage), tags=["folders"])
def folder_list(request: HttpRequest, slug: str, limit: int = Query(1000, ge=1, le=1000), cursor: str | None = None):
    """The folder tree as a flat list: each folder names its `parent` (null for a root)."""
    access = read_access(request, slug)
    qs = Folder.objects.filter(workspace=access.workspace).order_by("pk")
    count, rows, nxt = paginate(qs, limit=limit, cursor=cursor)
    return {"count": count, "results": rows, "next": next_url(request, nxt)}
