"""Encord response shapes (encord.md §6) built from our models.

/v2 shapes are camelCase and send `clientMetadata` as a JSON *string*; every key the SDK declares Optional is
present (pydantic v2 makes Optional-without-default required). The legacy DataRow is snake_case and carries
`client_metadata` as an object.
"""

import json
import mimetypes
from datetime import UTC, datetime

from metadata_site.items.models import Item, ItemKind
from metadata_site.projects.models import Dataset, Folder
from metadata_site.workspaces.models import Role

ITEM_TYPES = {
    ItemKind.IMAGE: "image",
    ItemKind.VIDEO: "video",
    ItemKind.IMAGE_GROUP: "imageGroup",
    ItemKind.FRAME: "image",
}
KINDS_BY_ITEM_TYPE = {"image": [ItemKind.IMAGE], "video": [ItemKind.VIDEO], "imageGroup": [ItemKind.IMAGE_GROUP]}
DATA_TYPES = {ItemKind.IMAGE: "IMAGE", ItemKind.VIDEO: "VIDEO", ItemKind.IMAGE_GROUP: "IMG_GROUP",
              ItemKind.FRAME: "IMAGE"}
ENCORD_STORAGE = 0  # encord.orm.dataset.StorageLocation.CORD_STORAGE


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def legacy_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def metadata_json(metadata) -> str:
    return json.dumps(metadata if isinstance(metadata, dict) else {}, ensure_ascii=False, separators=(",", ":"))


def _mime(title: str) -> str | None:
    return mimetypes.guess_type(title)[0]


def storage_item(item: Item, *, owner: str, include_metadata: bool = True) -> dict:
    """`item` must come with `folder` loaded and, for `backedDataUnitsCount`, a `backed_count` annotation."""
    return {
        "uuid": str(item.uid),
        "parent": str(item.folder.uid),
        "itemType": ITEM_TYPES.get(item.kind, "image"),
        "name": item.title,
        "description": "",
        "clientMetadata": metadata_json(item.client_metadata if include_metadata else {}),
        "owner": owner,
        "createdAt": iso(item.created_at),
        "lastEditedAt": iso(item.updated_at),
        "isTombstone": False,
        "isPlaceholder": False,
        "backedDataUnitsCount": getattr(item, "backed_count", 0),
        "storageLocation": "encord",
        "integrationHash": None,
        "url": item.media_url or None,
        "signedUrl": None,
        "fileSize": None,
        "mimeType": _mime(item.title),
        "duration": None,
        "fps": None,
        "height": None,
        "width": None,
        "dicomInstanceUid": None,
        "dicomStudyUid": None,
        "dicomSeriesUid": None,
        "frameCount": getattr(item, "group_frame_count", None) if item.kind == ItemKind.IMAGE_GROUP else None,
        "audioSampleRate": None,
        "audioBitDepth": None,
        "audioCodec": None,
        "audioNumChannels": None,
    }


def _path_element(folder: Folder) -> dict:
    return {
        "uuid": str(folder.uid),
        "parentUuid": str(folder.parent.uid) if folder.parent_id else None,
        "name": folder.name,
        "syncedDatasetHash": None,
    }


def storage_folder(folder: Folder, *, owner: str, role: str) -> dict:
    chain = [folder, *reversed(folder.ancestors())]  # this folder first, then up to the root
    return {
        "uuid": str(folder.uid),
        "parent": str(folder.parent.uid) if folder.parent_id else None,
        "name": folder.name,
        "description": folder.description,
        "clientMetadata": None,
        "owner": owner,
        "createdAt": iso(folder.created_at),
        "lastEditedAt": iso(folder.created_at),
        "userRole": "admin" if role == Role.ADMIN else "user",
        "syncedDatasetHash": None,
        "pathToRoot": [_path_element(f) for f in chain],
        "folderType": "generic",
    }


def data_row(item: Item, *, with_metadata: bool) -> dict:
    return {
        "data_hash": str(item.uid),
        "data_title": item.title,
        "data_type": DATA_TYPES.get(item.kind, "IMAGE"),
        "created_at": legacy_time(item.created_at),
        "last_edited_at": legacy_time(item.updated_at),
        "width": None,
        "height": None,
        "file_link": item.media_url or None,
        "file_size": None,
        "file_type": _mime(item.title),
        "storage_location": ENCORD_STORAGE,
        "frames_per_second": None,
        "duration": None,
        "client_metadata": (item.client_metadata if isinstance(item.client_metadata, dict) else {})
        if with_metadata
        else None,
        "backing_item_uuid": str(item.uid),
        "images_data": None,
        "signed_url": None,
        "is_optimised_image_group": None,
    }


def dataset(ds: Dataset, rows: list[dict]) -> dict:
    return {
        "dataset_hash": str(ds.uid),
        "title": ds.name,
        "description": ds.description,
        "dataset_type": "CORD_STORAGE",
        "backing_folder_uuid": None,
        "data_rows": rows,
    }
