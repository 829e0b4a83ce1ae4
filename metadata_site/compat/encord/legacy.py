"""The legacy RPC, ``POST /public``: datasets and data rows (read, save client_metadata), project label rows
(always unlabelled) and a project's datasets (attach, detach), answered in the legacy envelope
``{"status", "response", "payload"}``."""

import logging
import re
import uuid
from datetime import UTC, datetime

from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.db.models import Count, F, Lookup, QuerySet
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from metadata_site.items.models import Item, ItemKind
from metadata_site.lib import strictjson
from metadata_site.projects.models import Dataset, DatasetItem, Project
from metadata_site.projects.services import ProjectDatasetError, project_attach_dataset, project_detach_dataset
from metadata_site.workspaces.models import Role

from . import serializers as ser
from .access import INTERNAL, NOT_FOUND, ApiError, Signer, authenticate, parse_uuid, project_for
from .projects import LABELS_READ_ONLY
from .signatures import SignatureRefused
from .writes import METADATA_NOT_OBJECT, METADATA_REQUIRED, overwrite_metadata

logger = logging.getLogger(__name__)

UNSUPPORTED_QUERY = "metadata_site does not serve {query_type} {method} on the legacy API."
DATA_TITLE_READ_ONLY = "metadata_site changes only client_metadata of data rows."
MAX_LABEL_ROWS = 100_000
TOO_MANY_LABEL_ROWS = (
    "This project has more than {limit:,} label rows; narrow the list with data_hashes, data_title_eq or "
    "data_title_like."
)

MAX_LABEL_ROW_UIDS = 1000
BAD_LABEL_QUERY = "The label row query is invalid: {detail}."


_LEGACY_CODES = {
    401: "AUTHENTICATION_ERROR",
    403: "AUTHORISATION_ERROR",
    404: "RESOURCE_NOT_FOUND_ERROR",
    400: "INVALID_ARGUMENTS_ERROR",
    405: "METHOD_NOT_ALLOWED_ERROR",
}


def _envelope(payload) -> JsonResponse:
    return JsonResponse({"status": 200, "response": payload})


def _envelope_error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"status": status, "response": [_LEGACY_CODES.get(status, "UNKNOWN_ERROR")],
                         "payload": message})


def _legacy_dataset(request: HttpRequest, signer: Signer) -> Dataset:
    if request.headers.get("ResourceType", "").lower() != "dataset":
        raise ApiError(404, NOT_FOUND)
    try:
        uid = uuid.UUID(request.headers.get("ResourceID", ""))
    except ValueError:
        raise ApiError(404, NOT_FOUND) from None
    dataset = Dataset.objects.filter(uid=uid, workspace_id__in=signer.workspace_ids).first()
    if dataset is None:
        raise ApiError(404, NOT_FOUND)
    return dataset


def _legacy_project(request: HttpRequest, signer: Signer) -> Project:
    if request.headers.get("ResourceType", "").lower() != "project":
        raise ApiError(404, NOT_FOUND)
    return project_for(signer, request.headers.get("ResourceID", ""))


_ESCAPE = "ESCAPE '\\'"


class _TitleLike(Lookup):
    """``title LIKE pattern`` as Encord's `data_title_like` means it (SQL syntax: `%` any run, `_` one character,
    backslash escapes), case-insensitive for ASCII letters on both databases: SQLite's LIKE folds them, and on
    PostgreSQL ILIKE in the C collation folds only them."""

    lookup_name = "encord_like"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f'{lhs} COLLATE "C" ILIKE {rhs} {_ESCAPE}', (*lhs_params, *rhs_params)
        return f"{lhs} LIKE {rhs} {_ESCAPE}", (*lhs_params, *rhs_params)


def _edited(payload: dict, name: str) -> datetime | None:
    raw = payload.get(name)
    if raw in (None, ""):
        return None
    try:
        value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, BAD_LABEL_QUERY.format(detail=f"{name} is not an ISO 8601 date and time")) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _uid_list(payload: dict, name: str) -> list[uuid.UUID] | None:
    raw = payload.get(name)
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) > MAX_LABEL_ROW_UIDS:
        raise ApiError(400, BAD_LABEL_QUERY.format(detail=f"{name} must be a list of at most {MAX_LABEL_ROW_UIDS}"))
    try:
        return [uuid.UUID(str(v)) for v in raw]
    except ValueError:
        raise ApiError(400, BAD_LABEL_QUERY.format(detail=f"{name} holds a value that is not a uid")) from None


def _label_rows(project: Project) -> QuerySet:
    """The project's label rows: every (dataset, data unit) of the datasets attached to it."""
    return (
        DatasetItem.objects.filter(dataset__project_links__project=project)
        .select_related("dataset", "item")
        .annotate(frame_count=Count("item__frames"))
        .order_by("dataset__name", "dataset_id", "item__title", "item_id")
    )


def _legacy_list_label_rows(request, signer: Signer, uid, payload) -> list[dict]:
    """`project.list_label_rows_v2(...)` with the filters the SDK sends. Nothing is ever labelled, so a filter
    on label status, workflow stage, shadow data or another branch can only narrow the list."""
    project = _legacy_project(request, signer)
    payload = payload if isinstance(payload, dict) else {}
    rows = _label_rows(project)
    for name in ("data_hashes", "label_hashes"):  # a row's label hash is its data unit's uid
        uids = _uid_list(payload, name)
        if uids is not None:
            rows = rows.filter(item__uid__in=uids)
    for name, value in (("data_title_eq", payload.get("data_title_eq")),
                        ("data_title_like", payload.get("data_title_like"))):
        if value is not None and (not isinstance(value, str) or len(value) > 500):
            raise ApiError(400, BAD_LABEL_QUERY.format(detail=f"{name} must be a string of at most 500 characters"))
    if payload.get("data_title_eq") is not None:
        rows = rows.filter(item__title=payload["data_title_eq"])
    if payload.get("data_title_like") is not None:
        pattern = re.sub("%+", "%", payload["data_title_like"])  # one % matches what several do, with less work
        rows = rows.filter(_TitleLike(F("item__title"), pattern))
    if (before := _edited(payload, "edited_before")) is not None:
        rows = rows.filter(item__updated_at__lte=before)
    if (after := _edited(payload, "edited_after")) is not None:
        rows = rows.filter(item__updated_at__gte=after)
    statuses = payload.get("label_statuses")
    never = (
        (isinstance(statuses, list) and ser.NOT_LABELLED not in statuses)
        or payload.get("shadow_data_state") == "SHADOW_DATA"
        or payload.get("workflow_graph_node_title_eq") is not None
        or payload.get("workflow_graph_node_title_like") is not None
        or payload.get("branch_name") not in (None, ser.MAIN_BRANCH)
    )
    if never:
        return []
    page = list(rows[: MAX_LABEL_ROWS + 1])
    if len(page) > MAX_LABEL_ROWS:
        raise ApiError(400, TOO_MANY_LABEL_ROWS.format(limit=MAX_LABEL_ROWS))
    with_metadata = bool(payload.get("include_client_metadata"))
    for row in page:
        row.item.frame_count = row.frame_count
    return [ser.label_row_metadata(row.dataset, row.item, with_metadata=with_metadata) for row in page]


def _legacy_get_label_rows(request, signer: Signer, uid, payload) -> list[dict]:
    """`label_row.initialise_labels()`: each requested row's labels, which are always empty."""
    project = _legacy_project(request, signer)
    uids = _uid_list({"uids": uid if isinstance(uid, list) else [uid]}, "uids") or []
    rows = {}
    for row in _label_rows(project).filter(item__uid__in=uids):
        rows.setdefault(row.item.uid, row)
    if len(rows) != len(set(uids)):
        raise ApiError(404, NOT_FOUND)
    groups = [r.item for r in rows.values() if r.item.kind == ItemKind.IMAGE_GROUP]
    frames: dict[int, list[Item]] = {}
    for frame in Item.objects.filter(parent__in=groups).order_by("frame_index", "pk"):
        frames.setdefault(frame.parent_id, []).append(frame)
    return [ser.empty_label_row(rows[u].dataset, rows[u].item, frames.get(rows[u].item.pk, [])) for u in uids]


def _legacy_attach_datasets(request, signer: Signer, uid, payload) -> bool:
    """`project.add_datasets([dataset_hash, ...])`."""
    project = _legacy_project(request, signer)
    signer.require(project.workspace_id, Role.EDITOR)
    hashes = (payload or {}).get("dataset_hashes") if isinstance(payload, dict) else None
    datasets = _project_datasets_by_hash(project, hashes)
    with transaction.atomic():
        for dataset in datasets:
            project_attach_dataset(project=project, dataset=dataset)
    return True


def _legacy_detach_datasets(request, signer: Signer, uid, payload) -> bool:
    """`project.remove_datasets([dataset_hash, ...])`; a dataset's home project cannot be left."""
    project = _legacy_project(request, signer)
    signer.require(project.workspace_id, Role.EDITOR)
    datasets = _project_datasets_by_hash(project, uid)
    try:
        with transaction.atomic():
            for dataset in datasets:
                project_detach_dataset(project=project, dataset=dataset)
    except ProjectDatasetError as exc:
        raise ApiError(400, exc.message) from None
    return True


def _project_datasets_by_hash(project: Project, hashes) -> list[Dataset]:
    if not isinstance(hashes, list) or not hashes or len(hashes) > MAX_LABEL_ROW_UIDS:
        raise ApiError(400, BAD_LABEL_QUERY.format(detail="send a list of dataset hashes"))
    uids = {parse_uuid(h) for h in hashes}
    datasets = list(Dataset.objects.filter(workspace_id=project.workspace_id, uid__in=uids))
    if len(datasets) != len(uids):
        raise ApiError(404, NOT_FOUND)
    return datasets


def _dataset_items(dataset: Dataset) -> QuerySet:
    return Item.objects.filter(dataset_memberships__dataset=dataset).order_by("title", "pk")


def _legacy_get_dataset(request, signer: Signer, uid, payload) -> dict:
    dataset = _legacy_dataset(request, signer)
    settings = (payload or {}).get("dataset_access_settings") or {}
    with_metadata = bool(settings.get("fetch_client_metadata"))
    rows = []
    if settings.get("fetch_rows", True):
        rows = [ser.data_row(i, with_metadata=with_metadata) for i in _dataset_items(dataset)]
    return ser.dataset(dataset, rows)


def _legacy_row(request, signer: Signer, uid) -> tuple[Dataset, Item]:
    dataset = _legacy_dataset(request, signer)
    try:
        item_uid = uuid.UUID(str(uid))
    except ValueError:
        raise ApiError(404, NOT_FOUND) from None
    item = _dataset_items(dataset).filter(uid=item_uid).select_related("folder").first()
    if item is None:
        raise ApiError(404, NOT_FOUND)
    return dataset, item


def _legacy_get_row(request, signer: Signer, uid, payload) -> dict:
    _dataset, item = _legacy_row(request, signer, uid)
    additional = (payload or {}).get("additional_data") or {}
    return ser.data_row(item, with_metadata=bool(additional.get("client_metadata")))


def _legacy_save_row(request, signer: Signer, uid, payload) -> dict:
    _dataset, item = _legacy_row(request, signer, uid)
    if not isinstance(payload, dict) or not payload:
        raise ApiError(400, METADATA_REQUIRED)
    if set(payload) != {"client_metadata"}:
        raise ApiError(400, DATA_TITLE_READ_ONLY)
    metadata = payload["client_metadata"]
    if not isinstance(metadata, dict):
        raise ApiError(400, METADATA_NOT_OBJECT)
    overwrite_metadata(signer, [item], {item.pk: metadata}, f"Encord SDK: data row {item.title}")
    item.refresh_from_db()
    return {"updated_fields": ["client_metadata"], "data_row": ser.data_row(item, with_metadata=True)}


_LEGACY_QUERIES = {
    ("dataset", "GET"): _legacy_get_dataset,
    ("datarow", "GET"): _legacy_get_row,
    ("datarow", "POST"): _legacy_save_row,
    ("labelrowmetadata", "GET"): _legacy_list_label_rows,
    ("labelrow", "GET"): _legacy_get_label_rows,
    ("projectdataset", "POST"): _legacy_attach_datasets,
    ("projectdataset", "DELETE"): _legacy_detach_datasets,
}


@csrf_exempt
def legacy_rpc(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        # The SDK only ever POSTs here; anything else is not the protocol, so it gets a plain HTTP 405.
        return JsonResponse({"status": 405, "response": ["METHOD_NOT_ALLOWED_ERROR"], "payload": "Use POST."},
                            status=405)
    try:
        body = request.body
    except RequestDataTooBig:
        return JsonResponse({"message": "The request body is too large."}, status=413)
    try:
        signer = authenticate(request, body, legacy=True)
    except SignatureRefused as exc:
        return _envelope_error(401, str(exc))
    try:
        query = strictjson.loads_body(body)
        values = query["values"]
        handler = _LEGACY_QUERIES.get((query["query_type"], query["query_method"]))
        if not isinstance(values, dict):
            raise TypeError
    except strictjson.StrictJSONError as exc:
        return _envelope_error(400, f"The request is not a legacy API query: {exc.message}")
    except (KeyError, TypeError):
        return _envelope_error(400, "The request is not a legacy API query.")
    if handler is None:
        what = f"{query['query_type']} {query['query_method']}"
        if request.headers.get("ResourceType", "").lower() == "project" and query["query_method"] != "GET":
            return _envelope_error(400, LABELS_READ_ONLY.format(what=what))
        return _envelope_error(
            400, UNSUPPORTED_QUERY.format(query_type=query["query_type"], method=query["query_method"])
        )
    try:
        return _envelope(handler(request, signer, values.get("uid"), values.get("payload")))
    except ApiError as exc:
        return _envelope_error(exc.status, exc.message)
    except Exception:
        logger.exception("Encord legacy %s %s failed", query.get("query_type"), query.get("query_method"))
        return _envelope_error(400, INTERNAL)
