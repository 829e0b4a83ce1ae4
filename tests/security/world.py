"""One workspace "acme" with one object of every kind, so every URL of the site can be filled with real ids.

`build_world()` returns a `World` whose attributes name the objects; a URL parameter is filled from them
(see `matrix.PARAMS`). """

from dataclasses import dataclass, field
from typing import Any

from metadata_site.collections.models import Collection, CollectionItem
from metadata_site.imports.models import ImportKind, ImportTask
from metadata_site.items.models import ChangeSet
from metadata_site.items.services import item_metadata_write
from metadata_site.projects import services as info
from metadata_site.workspaces.models import Role

from ..factories import make_dataset, make_folder, make_item, make_project, make_schema, make_user, make_workspace

FIELDS = [
    {"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]},
    {"name": "temperature", "type": "float"},
]


@dataclass
class World:
    workspace: Any
    users: dict[str, Any]
    objects: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["objects"][name]
        except KeyError:
            raise AttributeError(name) from None


def build_world() -> World:
    owner, editor, viewer = make_user("owner"), make_user("editor"), make_user("viewer")
    stranger = make_user("stranger")
    workspace = make_workspace("acme", members={owner: Role.ADMIN, editor: Role.EDITOR, viewer: Role.VIEWER})
    elsewhere = make_workspace("elsewhere", members={stranger: Role.ADMIN})
    world = World(
        workspace=workspace,
        users={"admin": owner, "editor": editor, "viewer": viewer, "stranger": stranger},
    )
    o = world.objects
    o["elsewhere"] = elsewhere
    make_schema(workspace, FIELDS)
    o["folder"] = make_folder(workspace, "root")
    o["item"] = make_item(o["folder"], metadata={"weather": "Sunny", "temperature": 20.5})
    o["project"] = make_project(workspace)
    o["dataset"] = make_dataset(o["project"], items=[o["item"]])
    item_metadata_write(workspace=workspace, user=owner, updates={o["item"].pk: {"temperature": 21.0}}, mode="merge")
    o["change_set"] = ChangeSet.objects.get(workspace=workspace)
    for obj in (o["project"], o["dataset"]):
        info.info_save_readme(obj=obj, text="# Hello", user=owner, base_version=None)
        info.info_save_custom_data(obj=obj, data={"a": 1}, user=owner, base_version=None)
    _collections_and_tasks(world)
    return world


def _collections_and_tasks(world: World) -> None:
    o = world.objects
    o["collection"] = Collection.objects.create(workspace=world.workspace, title="picked")
    CollectionItem.objects.create(workspace=world.workspace, collection=o["collection"], item=o["item"])
    o["import_task"] = ImportTask.objects.create(
        workspace=world.workspace, kind=ImportKind.values[0], created_by=world.users["admin"]
    )
    # For the API's export and Visual Layer task URLs.
    o["export_task"] = ImportTask.objects.create(
        workspace=world.workspace, kind=ImportKind.EXPORT, format="json", created_by=world.users["admin"]
    )
    o["vl_task"] = ImportTask.objects.create(
        workspace=world.workspace, kind=ImportKind.FIELD_VALUES, target={"dataset": o["dataset"].pk, "field": "weather"},
        created_by=world.users["admin"],
    )
