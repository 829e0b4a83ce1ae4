"""Encord response shapes (encord.md §6) built from our models.

/v2 shapes are camelCase and send `clientMetadata` as a JSON *string*; every key the SDK declares Optional is
present (pydantic v2 makes Optional-without-default required). The legacy DataRow is snake_case and carries
`client_metadata` as an object.
"""

import json
import mimetypes
from datetime import UTC, datetime

from metadata_site.items.models import Item, ItemKind
from metadata_site.projects.models import Dataset, Folder, Project
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


# --- projects and label rows -------------------------------------------------------------------------------------
# metadata_site keeps no labels: a project's ontology is empty, and a label row is a data unit of one of the
# project's datasets, never labelled. Its label hash is the data unit's own uid, so reading a row back needs no
# stored label id.

EMPTY_ONTOLOGY = {"objects": [], "classifications": []}
NOT_LABELLED = "NOT_LABELLED"
MAIN_BRANCH = "main"


def project(proj: Project, *, owner: str, role: str) -> dict:
    """A ProjectDTO (camelCase). The ontology hash is the project's own uid: its ontology is the empty one."""
    return {
        "projectHash": str(proj.uid),
        "projectType": "manual_qa",
        "status": "notStarted",
        "title": proj.name,
        "description": proj.description,
        "createdAt": iso(proj.created_at),
        "creatorEmail": owner,
        "lastEditedAt": iso(proj.updated_at),
        "ontologyHash": str(proj.uid),
        "editorOntology": EMPTY_ONTOLOGY,
        "userRole": 0 if role == Role.ADMIN else 1,  # ProjectUserRole.ADMIN / ANNOTATOR
        "sourceProjects": None,
        "workflowManagerUuid": None,
        "workflow": None,
    }


def ontology(proj: Project, *, role: str) -> dict:
    """The empty ontology of a project (OntologyWithUserRole)."""
    return {
        "ontologyUuid": str(proj.uid),
        "title": f"{proj.name} (no labels)",
        "description": "metadata_site keeps no labels: this ontology is empty.",
        "editor": EMPTY_ONTOLOGY,
        "createdAt": iso(proj.created_at),
        "lastEditedAt": iso(proj.updated_at),
        "userRole": 0 if role == Role.ADMIN else 1,  # OntologyUserRole.ADMIN / USER
    }


def project_dataset(ds: Dataset) -> dict:
    return {"datasetHash": str(ds.uid), "title": ds.name, "description": ds.description}


def _label_data_type(item: Item) -> str:
    # A label row's labels name the data type as encord.constants.DataType does (lower case).
    return DATA_TYPES.get(item.kind, "IMAGE").lower()


def _frames(item: Item) -> int:
    return getattr(item, "frame_count", 0) if item.kind == ItemKind.IMAGE_GROUP else 1


def label_row_metadata(ds: Dataset, item: Item, *, with_metadata: bool) -> dict:
    """One label row of `list_label_rows_v2` (LabelRowMetadata, snake_case): the data unit `item` of `ds`."""
    metadata = item.client_metadata if isinstance(item.client_metadata, dict) else {}
    return {
        "label_hash": str(item.uid),
        "created_at": legacy_time(item.created_at),
        "last_edited_at": legacy_time(item.updated_at),
        "branch_name": MAIN_BRANCH,
        "data_hash": str(item.uid),
        "group_hash": None,
        "dataset_hash": str(ds.uid),
        "dataset_title": ds.name,
        "data_title": item.title,
        "data_type": DATA_TYPES.get(item.kind, "IMAGE"),  # upper case here, as in the legacy DataRow
        "data_link": None if item.kind == ItemKind.IMAGE_GROUP else item.media_url or None,
        "label_status": NOT_LABELLED,
        "annotation_task_status": None,
        "workflow_graph_node": None,
        "is_shadow_data": False,
        "frames_per_second": None,
        "number_of_frames": _frames(item),
        "duration": None,
        "height": None,
        "width": None,
        "audio_sample_rate": None,
        "audio_codec": None,
        "audio_bit_depth": None,
        "audio_num_channels": None,
        "spaces": {},
        "task_uuid": None,
        "priority": None,
        "client_metadata": metadata if with_metadata else None,
        "images_data": None,
        "file_type": _mime(item.title),
        "is_valid": True,
        "backing_item_uuid": str(item.uid),
        "assigned_user_email": None,
        "last_actioned_by_user_email": None,
    }


def _data_unit(item: Item, sequence: int) -> dict:
    return {
        "data_hash": str(item.uid),
        "data_title": item.title,
        "data_type": _mime(item.title) or "application/octet-stream",
        "data_sequence": sequence,
        "data_link": item.media_url or None,
        "width": None,
        "height": None,
        "labels": {},
    }


def empty_label_row(ds: Dataset, item: Item, frames: list[Item]) -> dict:
    """The labels of a label row (`initialise_labels`): its data units, and no objects, classifications or
    actions. An image group's data units are its frames."""
    units = [(f, f.frame_index or n) for n, f in enumerate(frames)] if item.kind == ItemKind.IMAGE_GROUP else [(item, 0)]
    return {
        "label_hash": str(item.uid),
        "branch_name": MAIN_BRANCH,
        "created_at": legacy_time(item.created_at),
        "last_edited_at": legacy_time(item.updated_at),
        "dataset_hash": str(ds.uid),
        "dataset_title": ds.name,
        "data_title": item.title,
        "data_hash": str(item.uid),
        "data_type": _label_data_type(item),
        "label_status": NOT_LABELLED,
        "data_units": {str(unit.uid): _data_unit(unit, sequence) for unit, sequence in units},
        "object_answers": {},
        "classification_answers": {},
        "object_actions": {},
    }
