"""Request and response bodies of the API (pydantic schemas through django-ninja)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from ninja import Field, Schema


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
    status: str
    progress: int
    item_count: int
    created_at: datetime
    updated_at: datetime


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


class ItemOut(Schema):
    uid: UUID
    title: str
    kind: str
    media_url: str
    folder: int = Field(..., alias="folder_id")
    metadata: dict[str, Any] = Field(..., alias="client_metadata")
    updated_at: datetime


class ItemPage(Schema):
    count: int
    results: list[ItemOut]
    next: str | None
