"""The Encord SDK's storage, client-metadata and schema protocol (encord.md), served at the host root.

/v2 REST under ``/v2/public/`` and the legacy RPC ``POST /public``. Every request is signed with an Ed25519 key
its user registered (Settings → SSH keys); the signer sees the workspaces it is a member of (or the one its key
is confined to), resolves folders, items and datasets by UUID among them (404 otherwise) and needs the editor
role to write (403). Item metadata is written through `item_metadata_write` (same validation and change sets as
the UI); a schema save goes through the schema service as a new version.

Client mistakes never end in a 5xx: the SDK retries those with back-off.
"""

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.db.models import Count, Exists, F, Lookup, OuterRef, Q, QuerySet
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from metadata_site.accounts.services import api_token_authenticate
from metadata_site.items.models import Item, ItemKind
from metadata_site.items.services import MODE_OVERWRITE, item_metadata_write
from metadata_site.lib import cursor as cursor_codec
from metadata_site.lib import strictjson
from metadata_site.lib.userinput import parse_int
from metadata_site.projects.models import Dataset, DatasetItem, Folder, Project
from metadata_site.projects.services import ProjectDatasetError, project_attach_dataset, project_detach_dataset
from metadata_site.schemas.selectors import schema_current, schema_current_row
from metadata_site.schemas.services import SchemaError, schema_import
from metadata_site.workspaces.models import ROLE_RANK, Membership, Role, Workspace

from ..keys import public_key_from_hex
from ..models import SshKey
from ..services import signature_first_use
from . import serializers as ser
from .schema_map import SchemaMappingError, fields_from_flat, fields_from_v2, schema_to_flat, schema_to_v2
from .signatures import (
    MAX_SKEW_SECONDS,
    SIG_REPLAYED,
    SignatureRefused,
    signature_id,
    verify_legacy,
    verify_v2,
)

logger = logging.getLogger(__name__)

SOURCE = "encord-sdk"
MAX_PAGE_SIZE = 1000
MAX_BULK_ITEMS = 1000

NOT_FOUND = "Not found."
READ_ONLY = "Your role in this workspace is read-only."
SCHEMA_ADMIN_ONLY = "Only workspace admins can change the metadata schema."
BAD_JSON = "The request body is not a JSON object."
BAD_JSON_TEXT = "The request body is not usable JSON: {detail}"
BAD_PARAM = "The query parameter {name!r} is invalid: {detail}."
BAD_PAGE_TOKEN = "The pageToken is invalid; start again without one."
BAD_ORDER = "Items can be ordered by name or createdAt."
BAD_PATCH_FIELDS = "metadata_site changes only clientMetadata of storage items; {fields} cannot be changed here."
METADATA_NOT_OBJECT = "clientMetadata must be a JSON object."
METADATA_REQUIRED = "Send clientMetadata (a JSON object) to change."
TOO_MANY_ITEMS = f"A bulk patch changes at most {MAX_BULK_ITEMS} items."
METADATA_INVALID = "The client metadata was not saved: {details}"
AMBIGUOUS_WORKSPACE = (
    "This key reaches several workspaces ({names}); register a key for one workspace (Settings → SSH keys) "
    "to read or save that workspace's metadata schema."
)
NO_WORKSPACE = "This key's user is not a member of any workspace."
UNSUPPORTED_QUERY = "metadata_site does not serve {query_type} {method} on the legacy API."
DATA_TITLE_READ_ONLY = "metadata_site changes only client_metadata of data rows."
INTERNAL = "The server could not process this request."
LABELS_READ_ONLY = (
    "metadata_site keeps no labels, only metadata: {what} is refused and nothing was saved. To change a data "
    "unit's metadata, use user_client.get_storage_item(label_row.backing_item_uuid).update(client_metadata=...)."
)
MAX_LABEL_ROWS = 100_000
TOO_MANY_LABEL_ROWS = (
    "This project has more than {limit:,} label rows; narrow the list with data_hashes, data_title_eq or "
    "data_title_like."
)
MAX_LABEL_ROW_UIDS = 1000
BAD_LABEL_QUERY = "The label row query is invalid: {detail}."
BAD_BEARER = "The bearer token is unknown or revoked."


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --- the signer ------------------------------------------------------------------------------------------------


@dataclass
class Signer:
    """Who made the request: the user of the SSH key that signed it (or of the API token it bears)."""

    user: object
    roles: dict[int, str]  # workspace id → role, for the workspaces this key reaches
    key: SshKey | None = None

    @property
    def workspace_ids(self) -> list[int]:
        return list(self.roles)

    def require(self, workspace_id: int, role: str, message: str = READ_ONLY) -> None:
        if ROLE_RANK[Role(self.roles[workspace_id])] < ROLE_RANK[Role(role)]:
            raise ApiError(403, message)

    def schema_workspace(self) -> Workspace:
        if not self.roles:
            raise ApiError(403, NO_WORKSPACE)
        workspaces = list(Workspace.objects.filter(pk__in=self.workspace_ids).order_by("slug"))
        if len(workspaces) > 1:
            raise ApiError(400, AMBIGUOUS_WORKSPACE.format(names=", ".join(w.slug for w in workspaces)))
        return workspaces[0]


def _lookup(key_hex: str):
    key = SshKey.objects.filter(key_hex=key_hex, user__is_active=True).only("key_hex").first()
    return public_key_from_hex(key.key_hex) if key else None


def _signer(key_hex: str) -> Signer:
    key = SshKey.objects.select_related("user").get(key_hex=key_hex)
    memberships = Membership.objects.filter(user=key.user)
    if key.workspace_id is not None:
        memberships = memberships.filter(workspace_id=key.workspace_id)
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        SshKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return Signer(user=key.user, key=key, roles=dict(memberships.values_list("workspace_id", "role")))


def _authenticate(request: HttpRequest, body: bytes, *, legacy: bool) -> Signer:
    """The signer of a request, or SignatureRefused. `create_with_bearer_token` clients send a metadata_site API
    token instead of a signature, on both transports."""
    authorization = request.headers.get("Authorization", "")
    if authorization.startswith("Bearer "):
        user = api_token_authenticate(raw=authorization.removeprefix("Bearer ").strip())
        if user is None:
            raise SignatureRefused(BAD_BEARER)
        return Signer(user=user, roles=dict(Membership.objects.filter(user=user).values_list("workspace_id", "role")))
    if legacy:
        return _signer(verify_legacy(authorization=authorization, body=body, lookup=_lookup))
    key_hex = verify_v2(
        method=request.method, target=_request_target(request), headers=request.headers, body=body, lookup=_lookup,
        max_future=settings.ENCORD_SIGNATURE_MAX_FUTURE_SECONDS,
    )
    # A write is never accepted twice under one signature. Reads are exempt: the SDK's signature of a request is
    # deterministic (Ed25519, `created` in whole seconds, no nonce), so two identical reads within a second carry
    # the same signature legitimately, and a replayed read changes nothing.
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        digest, created = signature_id(request.headers)
        if not signature_first_use(digest=digest, expires_at=created + MAX_SKEW_SECONDS):
            raise SignatureRefused(SIG_REPLAYED)
    return _signer(key_hex)


def _request_target(request: HttpRequest) -> str:
    raw = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    if raw:
        return raw
    query = request.META.get("QUERY_STRING", "")
    return request.path + (f"?{query}" if query else "")


def _owner(signer: Signer) -> str:
    return signer.user.email or signer.user.username


# --- /v2 plumbing ----------------------------------------------------------------------------------------------


def _v2_error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"message": message}, status=status)


def v2_endpoint(*methods: str) -> Callable:
    def decorate(view: Callable) -> Callable:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, **kwargs) -> JsonResponse:
            try:
                body = request.body
            except RequestDataTooBig:
                return _v2_error(413, "The request body is too large.")
            if request.method not in methods:
                return _v2_error(405, f"Use {' or '.join(methods)}.")
            try:
                signer = _authenticate(request, body, legacy=False)
            except SignatureRefused as exc:
                return _v2_error(401, str(exc))
            try:
                return view(request, signer, **kwargs)
            except ApiError as exc:
                return _v2_error(exc.status, exc.message)
            except Exception:
                logger.exception("Encord %s %s failed", request.method, request.path)
                return _v2_error(400, INTERNAL)

        return wrapper

    return decorate


def _json_body(request: HttpRequest):
    try:
        return strictjson.loads_body(request.body)
    except strictjson.StrictJSONError as exc:
        raise ApiError(400, BAD_JSON_TEXT.format(detail=exc.message)) from None


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ApiError(404, NOT_FOUND) from None


def _bool(request: HttpRequest, name: str, default: bool | None) -> bool | None:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise ApiError(400, BAD_PARAM.format(name=name, detail="expected true or false"))


def _folder(signer: Signer, folder_uid: str) -> Folder:
    folder = (
        Folder.objects.filter(uid=_uuid(folder_uid), workspace_id__in=signer.workspace_ids)
        .select_related("parent")
        .first()
    )
    if folder is None:
        raise ApiError(404, NOT_FOUND)
    return folder


def _items(signer: Signer) -> QuerySet:
    return (
        Item.objects.filter(workspace_id__in=signer.workspace_ids)
        .select_related("folder")
        .annotate(
            backed_count=Count("dataset_memberships", distinct=True),
            group_frame_count=Count("frames", distinct=True),
        )
    )


def _item(signer: Signer, item_uid: str) -> Item:
    item = _items(signer).filter(uid=_uuid(item_uid)).first()
    if item is None:
        raise ApiError(404, NOT_FOUND)
    return item


def _item_json(item: Item, signer: Signer, *, include_metadata: bool = True) -> dict:
    return ser.storage_item(item, owner=_owner(signer), include_metadata=include_metadata)


# --- storage ---------------------------------------------------------------------------------------------------


@v2_endpoint("GET")
def folder_detail(request: HttpRequest, signer: Signer, folder: str) -> JsonResponse:
    obj = _folder(signer, folder)
    return JsonResponse(ser.storage_folder(obj, owner=_owner(signer), role=signer.roles[obj.workspace_id]))


def _encode_token(order: str, desc: bool, value: str, pk: int) -> str:
    return cursor_codec.encode([order, desc, value, pk])


def _decode_token(token: str, order: str, desc: bool) -> tuple:
    try:
        t_order, t_desc, value, pk = cursor_codec.decode(token)
        if t_order != order or t_desc != desc or not isinstance(pk, int) or not isinstance(value, str):
            raise ValueError
        if order == "createdAt":
            value = datetime.fromisoformat(value)
    except (ValueError, TypeError):  # CursorError is a ValueError
        raise ApiError(400, BAD_PAGE_TOKEN) from None
    return value, pk


def _paged(request: HttpRequest, qs: QuerySet, *, name_field: str) -> tuple[list, str | None]:
    """One page of `qs` by the request's order (name or createdAt), desc, pageSize and opaque pageToken
    (keyset paging: the token holds the last row's sort value and id)."""
    order = request.GET.get("order") or "name"
    fields = {"name": name_field, "createdAt": "created_at"}
    if order not in fields:
        raise ApiError(400, BAD_ORDER)
    desc = bool(_bool(request, "desc", False))
    page_size = parse_int(request.GET.get("pageSize") or "100")
    if page_size is None:
        raise ApiError(400, BAD_PARAM.format(name="pageSize", detail="expected an integer"))
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ApiError(400, BAD_PARAM.format(name="pageSize", detail=f"expected 1 to {MAX_PAGE_SIZE}"))
    field = fields[order]
    if token := request.GET.get("pageToken"):
        value, pk = _decode_token(token, order, desc)
        op = "lt" if desc else "gt"
        qs = qs.filter(Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"pk__{op}": pk}))
    sign = "-" if desc else ""
    page = list(qs.order_by(f"{sign}{field}", f"{sign}pk")[: page_size + 1])
    if len(page) <= page_size:
        return page, None
    last = page[page_size - 1]
    value = getattr(last, name_field) if order == "name" else ser.iso(last.created_at)
    return page[:page_size], _encode_token(order, desc, value, last.pk)


@v2_endpoint("GET")
def folder_items(request: HttpRequest, signer: Signer, folder: str) -> JsonResponse:
    obj = _folder(signer, folder)
    include_metadata = _bool(request, "includeClientMetadata", True)
    items = _items(signer).filter(workspace_id=obj.workspace_id).exclude(kind=ItemKind.FRAME)
    if _bool(request, "isRecursive", False):
        items = items.filter(folder_id__in=obj.descendant_ids(include_self=True))
    else:
        items = items.filter(folder=obj)
    if search := request.GET.get("search"):
        items = items.filter(title__icontains=search)
    if item_types := request.GET.getlist("itemTypes"):
        items = items.filter(kind__in=[k for t in item_types for k in ser.KINDS_BY_ITEM_TYPE.get(t, [])])
    in_dataset = _bool(request, "isInDataset", None)
    if in_dataset is not None:
        member = Exists(DatasetItem.objects.filter(item=OuterRef("pk")))
        items = items.filter(member if in_dataset else ~member)
    page, next_token = _paged(request, items, name_field="title")
    results = [_item_json(i, signer, include_metadata=include_metadata) for i in page]
    return JsonResponse({"results": results, "nextPageToken": next_token})


def _folder_page(request: HttpRequest, signer: Signer, folders: QuerySet) -> JsonResponse:
    if search := request.GET.get("search"):
        folders = folders.filter(name__icontains=search)
    page, next_token = _paged(request, folders.select_related("parent"), name_field="name")
    results = [ser.storage_folder(f, owner=_owner(signer), role=signer.roles[f.workspace_id]) for f in page]
    return JsonResponse({"results": results, "nextPageToken": next_token})


@v2_endpoint("GET")
def folders_top_level(request: HttpRequest, signer: Signer) -> JsonResponse:
    """`list_storage_folders()`: the root folders of the signer's workspaces."""
    folders = Folder.objects.filter(workspace_id__in=signer.workspace_ids, parent=None)
    return _folder_page(request, signer, folders)


@v2_endpoint("GET")
def folders_search(request: HttpRequest, signer: Signer) -> JsonResponse:
    """`find_storage_folders(search=...)`: folders at any depth."""
    return _folder_page(request, signer, Folder.objects.filter(workspace_id__in=signer.workspace_ids))


@v2_endpoint("GET")
def folder_subfolders(request: HttpRequest, signer: Signer, folder: str) -> JsonResponse:
    """`folder.list_subfolders()`: the direct children of a folder."""
    parent = _folder(signer, folder)
    return _folder_page(request, signer, Folder.objects.filter(parent=parent))


@v2_endpoint("GET")
def item_detail(request: HttpRequest, signer: Signer, item: str) -> JsonResponse:
    return JsonResponse(_item_json(_item(signer, item), signer))


def _patch_metadata(patch, where: str) -> dict:
    if not isinstance(patch, dict):
        raise ApiError(400, BAD_JSON)
    other = [f"'{k}'" for k, v in patch.items() if k != "clientMetadata" and v is not None]
    if other:
        raise ApiError(400, BAD_PATCH_FIELDS.format(fields=", ".join(other)))
    metadata = patch.get("clientMetadata")
    if metadata is None:
        raise ApiError(400, METADATA_REQUIRED)
    if not isinstance(metadata, dict):
        raise ApiError(400, f"{where}: {METADATA_NOT_OBJECT}" if where else METADATA_NOT_OBJECT)
    return metadata


def _row_errors(rows: list[dict], names: dict[int, str]) -> str:
    parts = []
    for row in rows[:10]:
        errors = "; ".join(
            f"{e.get('key') or '(metadata)'}: {e.get('msg')}" for e in row.get("errors", [])[:5]
        )
        parts.append(f"item {names.get(row.get('item'), row.get('uid'))}: {errors}")
    return " | ".join(parts)


def _write(signer: Signer, items: list[Item], metadata: dict[int, dict], description: str) -> None:
    """Overwrite the metadata of `items` through the metadata service, all or nothing."""
    by_workspace: dict[int, dict[int, dict]] = {}
    for item in items:
        signer.require(item.workspace_id, Role.EDITOR)
        by_workspace.setdefault(item.workspace_id, {})[item.pk] = metadata[item.pk]
    names = {i.pk: f"{i.title} ({i.uid})" for i in items}
    with transaction.atomic():
        for workspace_id, updates in by_workspace.items():
            result = item_metadata_write(
                workspace=Workspace.objects.get(pk=workspace_id), user=signer.user, updates=updates,
                mode=MODE_OVERWRITE, source=SOURCE, description=description, operation="encord-sdk",
            )
            if result.failed:
                # Nothing is written when any row is refused: roll back the rows already written.
                raise ApiError(400, METADATA_INVALID.format(details=_row_errors(result.failed_rows, names)))


@v2_endpoint("PATCH")
def item_update(request: HttpRequest, signer: Signer, folder: str, item: str) -> JsonResponse:
    obj = _item(signer, item)
    if str(obj.folder.uid) != str(_uuid(folder)):
        raise ApiError(404, NOT_FOUND)
    metadata = _patch_metadata(_json_body(request), "")
    _write(signer, [obj], {obj.pk: metadata}, f"Encord SDK: item {obj.title}")
    return JsonResponse(_item_json(_item(signer, item), signer))


@v2_endpoint("PATCH")
def items_patch_bulk(request: HttpRequest, signer: Signer) -> JsonResponse:
    body = _json_body(request)
    patches = body.get("itemPatches") if isinstance(body, dict) else None
    if not isinstance(patches, dict):
        raise ApiError(400, "Send itemPatches: an object mapping item uuid to its patch.")
    if len(patches) > MAX_BULK_ITEMS:
        raise ApiError(400, TOO_MANY_ITEMS)
    uids = {str(_uuid(k)): k for k in patches}
    metadata_by_uid = {uid: _patch_metadata(patches[raw], f"item {raw}") for uid, raw in uids.items()}
    items = list(_items(signer).filter(uid__in=list(uids)))
    if len(items) != len(uids):
        raise ApiError(404, NOT_FOUND)
    if items:
        _write(signer, items, {i.pk: metadata_by_uid[str(i.uid)] for i in items},
               f"Encord SDK: bulk patch of {len(items)} items")
    fresh = {str(i.uid): i for i in _items(signer).filter(uid__in=list(uids))}
    return JsonResponse({"results": [_item_json(fresh[uid], signer) for uid in uids]})


@v2_endpoint("GET")
def child_items(request: HttpRequest, signer: Signer, folder: str, item: str) -> JsonResponse:
    obj = _item(signer, item)
    if str(obj.folder.uid) != str(_uuid(folder)):
        raise ApiError(404, NOT_FOUND)
    frames = _items(signer).filter(parent=obj).order_by("frame_index", "pk")
    return JsonResponse({"results": [_item_json(f, signer) for f in frames]})


# --- projects (metadata_site keeps no labels) ---------------------------------------------------------------------


def _project(signer: Signer, project_uid: str) -> Project:
    project = Project.objects.filter(uid=_uuid(project_uid), workspace_id__in=signer.workspace_ids).first()
    if project is None:
        raise ApiError(404, NOT_FOUND)
    return project


@v2_endpoint("GET")
def project_detail(request: HttpRequest, signer: Signer, project: str) -> JsonResponse:
    """`user_client.get_project(uid)`: the project, with its (empty) ontology's hash."""
    obj = _project(signer, project)
    return JsonResponse(ser.project(obj, owner=_owner(signer), role=signer.roles[obj.workspace_id]))


@v2_endpoint("GET")
def ontology_detail(request: HttpRequest, signer: Signer, ontology: str) -> JsonResponse:
    """The project's ontology, which `get_project` fetches: always empty (its hash is the project's uid)."""
    obj = _project(signer, ontology)
    return JsonResponse(ser.ontology(obj, role=signer.roles[obj.workspace_id]))


@v2_endpoint("GET")
def project_datasets(request: HttpRequest, signer: Signer, project: str) -> JsonResponse:
    """`project.list_datasets()`: every dataset attached to the project, in one page."""
    obj = _project(signer, project)
    datasets = obj.linked_datasets.order_by("name", "pk")
    return JsonResponse({"results": [ser.project_dataset(d) for d in datasets], "nextPageToken": None})


@v2_endpoint("GET", "POST", "PUT", "PATCH", "DELETE")
def project_other(request: HttpRequest, signer: Signer, project: str, rest: str) -> JsonResponse:
    """The rest of the project API (labels, workflow tasks, branches, ...): metadata_site keeps no labels, so a
    write is refused with a clear 400 rather than silently accepted, and a read is not found."""
    _project(signer, project)
    if request.method == "GET":
        raise ApiError(404, NOT_FOUND)
    raise ApiError(400, LABELS_READ_ONLY.format(what=f"{request.method} projects/{{project}}/{rest}"))


# --- schema ----------------------------------------------------------------------------------------------------


def _save_schema(signer: Signer, workspace: Workspace, fields: list[dict]) -> None:
    """Replace the workspace schema with `fields`: the schema service writes it as a new version."""
    signer.require(workspace.pk, Role.ADMIN, SCHEMA_ADMIN_ONLY)
    try:
        schema_import(workspace=workspace, user=signer.user, fields=fields, dry_run=False)
    except SchemaError as exc:
        details = "; ".join(f"{e.get('name')}: {e.get('msg')}" for e in exc.errors[:10])
        raise ApiError(400, f"{exc.message} {details}".strip() if details else exc.message) from None


@v2_endpoint("GET", "POST")
def metadata_schema_v2(request: HttpRequest, signer: Signer) -> JsonResponse:
    workspace = signer.schema_workspace()
    if request.method == "GET":
        if schema_current_row(workspace=workspace) is None:
            return JsonResponse(None, safe=False)
        return JsonResponse(schema_to_v2(schema_current(workspace=workspace)))
    try:
        fields = fields_from_v2(_json_body(request), schema_current(workspace=workspace))
    except SchemaMappingError as exc:
        raise ApiError(400, str(exc)) from None
    _save_schema(signer, workspace, fields)
    return JsonResponse(None, safe=False)


@v2_endpoint("GET", "POST")
def metadata_schema_flat(request: HttpRequest, signer: Signer) -> JsonResponse:
    workspace = signer.schema_workspace()
    if request.method == "GET":
        row = schema_current_row(workspace=workspace)
        if row is None:
            return JsonResponse(None, safe=False)
        return JsonResponse({
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"metadata_site:schema:{workspace.pk}:{row.version}")),
            "metadataSchema": schema_to_flat(schema_current(workspace=workspace)),
            "organisationId": workspace.pk,
            "createdAt": ser.iso(row.created_at),
            "updatedAt": ser.iso(row.created_at),
        })
    try:
        fields = fields_from_flat(_json_body(request), schema_current(workspace=workspace))
    except SchemaMappingError as exc:
        raise ApiError(400, str(exc)) from None
    _save_schema(signer, workspace, fields)
    return JsonResponse(None, safe=False)


# --- legacy RPC: POST /public ----------------------------------------------------------------------------------

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
    return _project(signer, request.headers.get("ResourceID", ""))


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
    uids = {_uuid(h) for h in hashes}
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
    _write(signer, [item], {item.pk: metadata}, f"Encord SDK: data row {item.title}")
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
        signer = _authenticate(request, body, legacy=True)
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
