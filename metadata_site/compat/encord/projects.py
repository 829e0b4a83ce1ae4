"""/v2 projects and ontologies. metadata_site keeps no labels: a project answers with its attached datasets and an
empty ontology, and the rest of the project API refuses writes with a clear 400."""


from django.http import HttpRequest, JsonResponse

from . import serializers as ser
from .access import NOT_FOUND, ApiError, Signer, owner, project_for
from .v2 import v2_endpoint

LABELS_READ_ONLY = (
    "metadata_site keeps no labels, only metadata: {what} is refused and nothing was saved. To change a data "
    "unit's metadata, use user_client.get_storage_item(label_row.backing_item_uuid).update(client_metadata=...)."
)


@v2_endpoint("GET")
def project_detail(request: HttpRequest, signer: Signer, project: str) -> JsonResponse:
    """`user_client.get_project(uid)`: the project, with its (empty) ontology's hash."""
    obj = project_for(signer, project)
    return JsonResponse(ser.project(obj, owner=owner(signer), role=signer.roles[obj.workspace_id]))


@v2_endpoint("GET")
def ontology_detail(request: HttpRequest, signer: Signer, ontology: str) -> JsonResponse:
    """The project's ontology, which `get_project` fetches: always empty (its hash is the project's uid)."""
    obj = project_for(signer, ontology)
    return JsonResponse(ser.ontology(obj, role=signer.roles[obj.workspace_id]))


@v2_endpoint("GET")
def project_datasets(request: HttpRequest, signer: Signer, project: str) -> JsonResponse:
    """`project.list_datasets()`: every dataset attached to the project, in one page."""
    obj = project_for(signer, project)
    datasets = obj.linked_datasets.order_by("name", "pk")
    return JsonResponse({"results": [ser.project_dataset(d) for d in datasets], "nextPageToken": None})


@v2_endpoint("GET", "POST", "PUT", "PATCH", "DELETE")
def project_other(request: HttpRequest, signer: Signer, project: str, rest: str) -> JsonResponse:
    """The rest of the project API (labels, workflow tasks, branches, ...): metadata_site keeps no labels, so a
    write is refused with a clear 400 rather than silently accepted, and a read is not found."""
    project_for(signer, project)
    if request.method == "GET":
        raise ApiError(404, NOT_FOUND)
    raise ApiError(400, LABELS_READ_ONLY.format(what=f"{request.method} projects/{{project}}/{rest}"))
