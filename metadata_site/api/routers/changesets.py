"""Change sets of item metadata: list them, undo one."""

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router
from ninja.pagination import paginate

from metadata_site.items.models import ChangeSet
from metadata_site.items.services import ChangeSetError, change_set_undo

from ..access import read_access, write_access
from ..errors import ApiError, responses
from ..paging import CursorPage
from ..schemas import ChangeSetPage, UndoOut

router = Router(tags=["change sets"])


def _change_set(c: ChangeSet) -> dict:
    return {"id": c.pk, "created_at": c.created_at, "operation": c.operation, "description": c.description,
            "source": c.source, "item_count": c.item_count, "user": c.user.username if c.user_id else None,
            "undone_at": c.undone_at, "undo_of_id": c.undo_of_id}


@router.get("/w/{slug}/change_sets", response=responses(ChangeSetPage))
@paginate(CursorPage, limit=50, keyset=False, row=_change_set)
def change_set_list(request: HttpRequest, slug: str):
    """Recorded changes of item metadata, newest first."""
    access = read_access(request, slug)
    return ChangeSet.objects.filter(workspace=access.workspace).select_related("user").order_by("-created_at", "-id")


@router.post("/w/{slug}/change_sets/{int:change_set_id}/undo", response=responses(UndoOut))
def change_set_undo_endpoint(request: HttpRequest, slug: str, change_set_id: int):
    """Put every item the change set touched back to its previous metadata; items changed again since are
    left alone and listed as conflicts (with the newer change set that wrote them). `undone` is true only when
    no item was left alone; otherwise the change set can be undone again later."""
    access = write_access(request, slug)
    change_set = get_object_or_404(ChangeSet, workspace=access.workspace, pk=change_set_id)
    try:
        result = change_set_undo(change_set=change_set, user=request.auth)
    except ChangeSetError as exc:
        raise ApiError(409, exc.message) from None
    return {
        "change_set": change_set.pk,
        "undo_change_set": result.undo_change_set.pk if result.undo_change_set else None,
        "restored": result.restored,
        "already_restored": result.already,
        "conflicts": result.conflicts,
        "undone": result.undone,
    }
