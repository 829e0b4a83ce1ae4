"""/v2 storage: folders (top level, search, subfolders), their items in keyset pages, one item, its child items
(an image group's frames), and metadata patches of one item or many."""

from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, JsonResponse

from metadata_site.items.models import Item, ItemKind
from metadata_site.lib import cursor as cursor_codec
from metadata_site.lib.userinput import parse_int
from metadata_site.projects.models import DatasetItem, Folder

from . import serializers as ser
from .access import NOT_FOUND, ApiError, Signer, owner, parse_uuid
from .v2 import BAD_PARAM, json_body, query_bool, v2_endpoint
from .writes import METADATA_NOT_OBJECT, METADATA_REQUIRED, overwrite_metadata

MAX_PAGE_SIZE = 1000
MAX_BULK_ITEMS = 1000

BAD_JSON = "The request body is not a JSON object."
BAD_PAGE_TOKEN = "The pageToken is invalid; start again without one."
BAD_ORDER = "Items can be ordered by name or createdAt."
BAD_PATCH_FIELDS = "metadata_site changes only clientMetadata of storage items; {fields} cannot be changed here."
TOO_MANY_ITEMS = f"A bulk patch changes at most {MAX_BULK_ITEMS} items."


def _folder(signer: Signer, folder_uid: str) -> Folder:
    folder = (
        Folder.objects.filter(uid=parse_uuid(folder_uid), workspace_id__in=signer.workspace_ids)
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
    item = _items(signer).filter(uid=parse_uuid(item_uid)).first()
    if item is None:
        raise ApiError(404, NOT_FOUND)
    return item


def _item_json(item: Item, signer: Signer, *, include_metadata: bool = True) -> dict:
    return ser.storage_item(item, owner=owner(signer), include_metadata=include_metadata)


@v2_endpoint("GET")
def folder_detail(request: HttpRequest, signer: Signer, folder: str) -> JsonResponse:
    obj = _folder(signer, folder)
    return JsonResponse(ser.storage_folder(obj, owner=owner(signer), role=signer.roles[obj.workspace_id]))


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
    desc = bool(query_bool(request, "desc", False))
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
    include_metadata = query_bool(request, "includeClientMetadata", True)
    items = _items(signer).filter(workspace_id=obj.workspace_id).exclude(kind=ItemKind.FRAME)
    if query_bool(request, "isRecursive", False):
        items = items.filter(folder_id__in=obj.descendant_ids(include_self=True))
    else:
        items = items.filter(folder=obj)
    if search := request.GET.get("search"):
        items = items.filter(title__icontains=search)
    if item_types := request.GET.getlist("itemTypes"):
        items = items.filter(kind__in=[k for t in item_types for k in ser.KINDS_BY_ITEM_TYPE.get(t, [])])
    in_dataset = query_bool(request, "isInDataset", None)
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
    results = [ser.storage_folder(f, owner=owner(signer), role=signer.roles[f.workspace_id]) for f in page]
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


@v2_endpoint("PATCH")
def item_update(request: HttpRequest, signer: Signer, folder: str, item: str) -> JsonResponse:
    obj = _item(signer, item)
    if str(obj.folder.uid) != str(parse_uuid(folder)):
        raise ApiError(404, NOT_FOUND)
    metadata = _patch_metadata(json_body(request), "")
    overwrite_metadata(signer, [obj], {obj.pk: metadata}, f"Encord SDK: item {obj.title}")
    return JsonResponse(_item_json(_item(signer, item), signer))


@v2_endpoint("PATCH")
def items_patch_bulk(request: HttpRequest, signer: Signer) -> JsonResponse:
    body = json_body(request)
    patches = body.get("itemPatches") if isinstance(body, dict) else None
    if not isinstance(patches, dict):
        raise ApiError(400, "Send itemPatches: an object mapping item uuid to its patch.")
    if len(patches) > MAX_BULK_ITEMS:
        raise ApiError(400, TOO_MANY_ITEMS)
    uids = {str(parse_uuid(k)): k for k in patches}
    metadata_by_uid = {uid: _patch_metadata(patches[raw], f"item {raw}") for uid, raw in uids.items()}
    items = list(_items(signer).filter(uid__in=list(uids)))
    if len(items) != len(uids):
        raise ApiError(404, NOT_FOUND)
    if items:
        overwrite_metadata(signer, items, {i.pk: metadata_by_uid[str(i.uid)] for i in items},
               f"Encord SDK: bulk patch of {len(items)} items")
    fresh = {str(i.uid): i for i in _items(signer).filter(uid__in=list(uids))}
    return JsonResponse({"results": [_item_json(fresh[uid], signer) for uid in uids]})


@v2_endpoint("GET")
def child_items(request: HttpRequest, signer: Signer, folder: str, item: str) -> JsonResponse:
    obj = _item(signer, item)
    if str(obj.folder.uid) != str(parse_uuid(folder)):
        raise ApiError(404, NOT_FOUND)
    frames = _items(signer).filter(parent=obj).order_by("frame_index", "pk")
    return JsonResponse({"results": [_item_json(f, signer) for f in frames]})
