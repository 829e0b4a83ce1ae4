"""Request and response bodies of the API (pydantic schemas through django-ninja)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from ninja import Field, Schema

from .errors import ErrorLoc


class WorkspaceOut(Schema):
    slug: str
    name: str
    role: str


class WorkspacePage(Schema):
    count: int
    results: list[WorkspaceOut]
    next: str | None


class FolderOut(Schema):
    id: int
    uid: UUID
    name: str
    description: str
    parent: int | None = Field(None, alias="parent_id")


class FolderPage(Schema):
    count: int
    results: list[FolderOut]
    next: str | None


class ProjectOut(Schema):
    id: int
    uid: UUID
    name: str
    description: str
    created_at: datetime
    updated_at: datetime


class ProjectPage(Schema):
    count: int
    results: list[ProjectOut]
    next: str | None


class DatasetOut(Schema):
    id: int
    uid: UUID
    name: str
    description: str
    project: int = Field(..., alias="project_id")
    projects: list[int] = Field(..., description="Every project the dataset is attached to (`project` included).")
    status: str
    progress: int
    item_count: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_projects(obj) -> list[int]:
        return sorted(link.project_id for link in obj.project_links.all())


class DatasetPage(Schema):
    count: int
    results: list[DatasetOut]
    next: str | None


class InfoOut(Schema):
    """README and custom data of a project or dataset, with their versions (the ETag values)."""

    readme: str
    readme_version: int
    custom_data: dict[str, Any]
    custom_data_version: int
    updated_at: datetime
    updated_by: str | None


class ReadmeIn(Schema):
    readme: str


class ReadmeOut(Schema):
    readme: str
    version: int
    updated_at: datetime


class ItemMediaOut(Schema):
    """An item's media, as the worker read it from the real bytes (null until then)."""

    status: str = Field(..., alias="media_status", description="none, pending, ready or error")
    error: str = Field(..., alias="media_error", description='"cannot read this file: <reason>" when status is error')
    content_type: str
    file_size: int | None
    width: int | None
    height: int | None
    duration: float | None = Field(None, description="seconds (videos)")
    fps: float | None = Field(None, description="frames per second (videos)")
    frame_count: int | None = Field(None, description="videos")


class ItemOut(Schema):
    uid: UUID
    title: str
    kind: str
    media_url: str
    folder: int = Field(..., alias="folder_id")
    metadata: dict[str, Any] = Field(..., alias="client_metadata")
    updated_at: datetime
    media: ItemMediaOut
    distance: float | None = Field(None, description="with similar_to: the distance to the query item (0 = same picture)")

    @staticmethod
    def resolve_media(obj) -> Any:
        return obj

    @staticmethod
    def resolve_distance(obj) -> float | None:
        return getattr(obj, "distance", None)


class ItemPage(Schema):
    count: int
    results: list[ItemOut]
    next: str | None


class ItemSearchIn(Schema):
    """The JSON form of the explorer's filters (see the items list), plus paging."""

    all: list[dict[str, Any]] = []
    any: list[dict[str, Any]] = []
    scope: str | None = None
    sort: str | None = None
    limit: int = Field(50, ge=1, le=1000)
    cursor: str | None = None


class ItemSearchPage(Schema):
    count: int
    results: list[ItemOut]
    next: str | None = Field(None, description="The cursor of the next page (send it back as `cursor`).")


class RowError(Schema):
    key: str
    msg: str
    expected: str | None = None
    value: Any = None


class RowResult(Schema):
    index: int
    uid: str | None
    status: str = Field(..., description="changed, unchanged or failed")
    errors: list[RowError] = []


class MetadataUpdate(Schema):
    uid: str
    metadata: dict[str, Any]


class BulkMetadataIn(Schema):
    mode: str = Field("merge", pattern="^(merge|overwrite)$")
    updates: list[MetadataUpdate] | dict[str, dict[str, Any]] = Field(
        ..., description="[{uid, metadata}] or {uid: metadata}; at most 10,000 items per call"
    )
    description: str = ""


class BulkMetadataOut(Schema):
    change_set: int | None
    changed: int
    unchanged: int
    failed: int
    results: list[RowResult]


class ItemMetadataOut(Schema):
    uid: str
    status: str
    metadata: dict[str, Any]
    change_set: int | None


class ChangeSetOut(Schema):
    id: int
    created_at: datetime
    operation: str
    description: str
    source: str
    item_count: int
    user: str | None
    undone_at: datetime | None
    undo_of: int | None = Field(None, alias="undo_of_id")


class ChangeSetPage(Schema):
    count: int
    results: list[ChangeSetOut]
    next: str | None


class UndoOut(Schema):
    change_set: int
    undo_change_set: int | None
    restored: int
    already_restored: int
    conflicts: list[dict[str, Any]]
    undone: bool


class FieldOut(Schema):
    name: str
    type: str
    options: list[str] = []
    is_multi: bool = False
    description: str = ""
    unit: str = ""
    dimension: int | None = None  # embedding fields only
    distance: str | None = None  # embedding fields only: cosine | euclidean


class SchemaOut(Schema):
    version: int
    fields: list[FieldOut]


class SchemaVersionOut(Schema):
    version: int
    note: str
    created_at: datetime
    created_by: str | None
    fields: list[FieldOut]


class SchemaVersionPage(Schema):
    count: int
    results: list[SchemaVersionOut]
    next: str | None


class FieldRenameIn(Schema):
    """The new name of a declared field."""

    new_name: str


class FieldIn(Schema):
    """A field declaration: ours (`name`, `type`, `options`) or Visual Layer's (`field_name`, `field_type`,
    `enum_options`)."""

    name: str | None = None
    type: str | None = None
    options: list[str] | None = None
    is_multi: bool = False
    description: str = ""
    unit: str = ""
    field_name: str | None = None
    field_type: str | None = None
    enum_options: list[str] | None = None
    dimension: int | None = None  # type "embedding": the vectors' length, 1 to 4,096
    distance: str | None = None  # type "embedding": cosine (the default) or euclidean


class SchemaImportIn(Schema):
    fields: list[dict[str, Any]]


class FieldChangeOut(Schema):
    name: str
    changes: list[str]
    converted: int = 0
    failed: int = 0


class SchemaDiffOut(Schema):
    applied: bool
    version: int | None
    added: list[str]
    changed: list[FieldChangeOut]
    dropped: list[str]
    change_set: int | None


class ImportTaskIn(Schema):
    kind: str = Field(..., description="metadata_rows, field_values or data")
    target: dict[str, Any] = Field(default_factory=dict, description='{"folder": id} or {"dataset": id}, and '
                                   '{"field": name} for field_values')
    mode: str = Field("merge", pattern="^(merge|overwrite)$")
    dry_run: bool = Field(True, description="Only check the file; apply later with /apply")
    policy: str = Field("", description="With dry_run=false: skip_bad_rows (default) or only_if_no_errors")


class ImportTaskOut(Schema):
    id: UUID = Field(..., alias="uid")
    kind: str
    target: dict[str, Any]
    mode: str
    status: str
    progress: float
    dry_run: bool
    policy: str
    file_name: str
    file_size: int
    total_rows: int = Field(..., alias="total")
    valid_rows: int
    inserted_rows: int
    updated_rows: int
    unchanged_rows: int
    error_count: int
    sample_errors: list[dict[str, Any]]
    failure_reason: str
    change_set: int | None = Field(None, alias="change_set_id")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    undone_at: datetime | None


class ImportTaskPage(Schema):
    count: int
    results: list[ImportTaskOut]
    next: str | None


class ApplyIn(Schema):
    policy: str = Field("skip_bad_rows", description="skip_bad_rows or only_if_no_errors")


class CollectionOut(Schema):
    id: int
    title: str
    description: str
    kind: str
    filter: dict[str, Any]
    item_count: int | None = Field(description="null when the collection cannot be evaluated (see `problem`)")
    problem: str | None = Field(
        None, description="Why a live collection cannot be evaluated, e.g. its filter uses a dropped field"
    )
    created_at: datetime
    updated_at: datetime
    task: str | None = Field(None, description="A background task still adding items (large selections)")


class CollectionPage(Schema):
    count: int
    results: list[CollectionOut]
    next: str | None


class CollectionIn(Schema):
    title: str
    description: str = ""
    kind: str = Field("frozen", description="frozen (a snapshot of items) or live (only the filter)")
    filter: dict[str, Any] | None = Field(None, description="The JSON form of the explorer filters")
    items: list[UUID] | None = Field(None, description="Item uids (instead of a filter)")


class CollectionItemsIn(Schema):
    items: list[UUID] | None = None
    filter: dict[str, Any] | None = None


class CollectionItemsOut(Schema):
    added: int = 0
    removed: int = 0
    task: str | None = None


class DatasetFromCollectionsIn(Schema):
    name: str
    description: str = ""
    project: int | None = Field(None, description="An existing project's id")
    new_project: str | None = Field(None, description="Or the name of a new project")
    collections: list[int] = []
    items: list[UUID] | None = None
    filter: dict[str, Any] | None = None
    split_image_groups: bool = False


class ExportIn(Schema):
    format: str = Field("json", pattern="^(json|jsonl|csv)$")
    f: list[str] = Field(default_factory=list, description="Explorer conditions <field>:<op>:<value>")
    any: list[str] = Field(default_factory=list)
    scope: str | None = Field(None, description="folder:<id>, dataset:<id> or collection:<id>")


class ExportOut(Schema):
    id: UUID = Field(..., alias="uid")
    status: str
    progress: float
    format: str
    file_name: str
    file_size: int
    total_rows: int = Field(..., alias="total")
    exported_rows: int = Field(..., alias="done")
    failure_reason: str
    created_at: datetime
    finished_at: datetime | None
    download_url: str | None = None


class MediaUploadRow(Schema):
    index: int
    file: str = Field(..., description="the file name as sent")
    status: str = Field(..., description="created, updated or failed")
    uid: UUID | None
    code: int | None = Field(None, description="for a failed file: the HTTP status that fits (413, 415, 409, 422)")
    error: str | None = None
    errors: list[ErrorLoc] = []


class MediaUploadOut(Schema):
    created: int
    updated: int
    failed: int
    results: list[MediaUploadRow]
