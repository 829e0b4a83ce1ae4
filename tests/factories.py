"""Small make_* helpers for test data (no factory library)."""

import itertools

from django.contrib.auth import get_user_model
from django.utils import timezone

from metadata_site.items.models import Item, ItemKind
from metadata_site.projects.models import Dataset, DatasetItem, Folder, Project
from metadata_site.schemas.models import MetadataSchema
from metadata_site.workspaces.models import Membership, Role, Workspace

_seq = itertools.count(1)

PASSWORD = "correct horse battery staple"


def make_user(username: str | None = None, **extra):
    username = username or f"user{next(_seq)}"
    return get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)


def make_workspace(slug: str | None = None, *, members: dict | None = None) -> Workspace:
    """A workspace; `members` maps user → role."""
    slug = slug or f"ws{next(_seq)}"
    ws = Workspace.objects.create(slug=slug, name=slug.title())
    for user, role in (members or {}).items():
        Membership.objects.create(user=user, workspace=ws, role=role)
    return ws


def make_folder(workspace: Workspace, name: str | None = None, *, parent: Folder | None = None) -> Folder:
    return Folder.objects.create(workspace=workspace, parent=parent, name=name or f"folder{next(_seq)}")


def make_item(folder: Folder, title: str | None = None, *, metadata: dict | None = None, **extra) -> Item:
    return Item.objects.create(
        workspace_id=folder.workspace_id,
        folder=folder,
        title=title or f"img_{next(_seq):05d}.jpg",
        kind=extra.pop("kind", ItemKind.IMAGE),
        client_metadata=metadata if metadata is not None else {},
        **extra,
    )


def make_project(workspace: Workspace, name: str | None = None, **extra) -> Project:
    return Project.objects.create(
        workspace=workspace, name=name or f"project{next(_seq)}", updated_at=timezone.now(), **extra
    )


def make_dataset(project: Project, name: str | None = None, *, items=(), **extra) -> Dataset:
    ds = Dataset.objects.create(
        workspace_id=project.workspace_id,
        project=project,
        name=name or f"dataset{next(_seq)}",
        updated_at=timezone.now(),
        **extra,
    )
    DatasetItem.objects.bulk_create([DatasetItem(workspace_id=ds.workspace_id, dataset=ds, item=i) for i in items])
    return ds


def make_schema(workspace: Workspace, fields: list[dict], *, version: int | None = None) -> MetadataSchema:
    if version is None:
        last = MetadataSchema.objects.filter(workspace=workspace).order_by("-version").first()
        version = (last.version + 1) if last else 1
    full = [
        {"options": [], "is_multi": False, "description": "", "unit": "", **f} for f in fields
    ]
    return MetadataSchema.objects.create(workspace=workspace, version=version, fields=full)


ROLES = Role


def make_image_group(
    folder: Folder, title: str | None = None, *, frames: int = 3, metadata: dict | None = None
) -> Item:
    """An image group with `frames` frame items (kind frame, parent = the group)."""
    group = make_item(folder, title or f"group_{next(_seq):05d}", kind=ItemKind.IMAGE_GROUP, metadata=metadata)
    for i in range(frames):
        make_item(folder, f"{group.title}_f{i}.jpg", kind=ItemKind.FRAME, parent=group, frame_index=i)
    return group


def make_collection(workspace: Workspace, title: str | None = None, *, items=(), kind: str = "frozen", **extra):
    from metadata_site.collections.models import Collection, CollectionItem

    c = Collection.objects.create(workspace=workspace, title=title or f"collection{next(_seq)}", kind=kind, **extra)
    CollectionItem.objects.bulk_create([CollectionItem(workspace_id=workspace.pk, collection=c, item=i) for i in items])
    return c
