"""One workspace "acme" with one object of every kind, so every URL of the site can be filled with real ids.

`build_world()` returns a `World` whose attributes name the objects; a URL parameter is filled from them
(see `matrix.PARAMS`). """

from dataclasses import dataclass, field
from typing import Any

from metadata_site.accounts.services import api_token_create
from metadata_site.collections.models import Collection, CollectionItem, CollectionTask, CollectionTaskKind
from metadata_site.compat.models import SshKey
from metadata_site.imports.models import ImportKind, ImportTask
from metadata_site.imports.services import error_report_path
from metadata_site.items.models import ChangeSet
from metadata_site.items.services import item_metadata_write
from metadata_site.projects import services as info
from metadata_site.schemas.models import FieldRename, FieldRenameStatus
from metadata_site.workspaces.models import Role

from ..compat import signing
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
    tokens: dict[str, str] = field(default_factory=dict)  # role → raw API token
    ssh_keys: dict[str, Any] = field(default_factory=dict)  # role → Ed25519 private key
    foreign: "World | None" = None  # acme's slug with the other workspace's objects

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
    world.objects.update(_objects(workspace, owner), elsewhere=elsewhere)
    # The same objects in the other workspace: their ids, put in acme's URLs and bodies, must be 404.
    world.foreign = World(workspace=workspace, users=world.users, objects=_objects(elsewhere, stranger))
    _credentials(world)
    return world


def _objects(workspace, owner) -> dict[str, Any]:
    o: dict[str, Any] = {}
    make_schema(workspace, FIELDS)
    o["folder"] = make_folder(workspace, "root")
    o["item"] = make_item(o["folder"], metadata={"weather": "Sunny", "temperature": 20.5})
    o["video"] = _video_item(workspace, o["folder"])
    o["project"] = make_project(workspace)
    o["dataset"] = make_dataset(o["project"], items=[o["item"]])
    item_metadata_write(workspace=workspace, user=owner, updates={o["item"].pk: {"temperature": 21.0}}, mode="merge")
    o["change_set"] = ChangeSet.objects.get(workspace=workspace)
    o["field_rename"] = FieldRename.objects.create(
        workspace=workspace, old_name="temp", new_name="temperature", change_set=o["change_set"],
        status=FieldRenameStatus.COMPLETED,
    )
    for obj in (o["project"], o["dataset"]):
        info.info_save_readme(obj=obj, text="# Hello", user=owner, base_version=None)
        info.info_save_custom_data(obj=obj, data={"a": 1}, user=owner, base_version=None)
    o["collection"] = Collection.objects.create(workspace=workspace, title="picked")
    CollectionItem.objects.create(workspace=workspace, collection=o["collection"], item=o["item"])
    o["collection_task"] = CollectionTask.objects.create(
        workspace=workspace, kind=CollectionTaskKind.values[0], collection=o["collection"]
    )
    o["import_task"] = ImportTask.objects.create(
        workspace=workspace, kind=ImportKind.values[0], created_by=owner, error_count=1
    )
    report = error_report_path(o["import_task"])
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("row,key,message\n1,weather,bad\n")
    # For the API's export and Visual Layer task URLs.
    o["export_task"] = ImportTask.objects.create(
        workspace=workspace, kind=ImportKind.EXPORT, format="json", created_by=owner
    )
    o["vl_task"] = ImportTask.objects.create(
        workspace=workspace, kind=ImportKind.FIELD_VALUES, target={"dataset": o["dataset"].pk, "field": "weather"},
        created_by=owner,
    )
    return o


def _video_item(workspace, folder):
    """An uploaded video the media worker has read (a stored original and keyframe thumbnails to serve)."""
    from metadata_site.media.services import item_attach_media, media_store
    from metadata_site.media.tasks import make_media_items

    from ..media.helpers import video_bytes

    blob = media_store(data=video_bytes(), filename="clip.mp4")
    item = item_attach_media(workspace=workspace, folder=folder, title="clip.mp4", blob=blob, queue=False)
    make_media_items([item.pk])
    return item


def _credentials(world: World) -> None:
    """An API token and a registered SSH key (Encord SDK) per user; the admin's are the ones in URLs."""
    world.tokens, world.ssh_keys = {}, {}
    world.foreign.tokens, world.foreign.ssh_keys = world.tokens, world.ssh_keys
    for role, user in world.users.items():
        token, raw = api_token_create(user=user, name=role)
        world.tokens[role] = raw
        key = signing.new_key()
        ssh = SshKey.objects.create(
            user=user, name=role, key_hex=signing.key_hex(key), public_key=signing.openssh_public(key), fingerprint="x"
        )
        world.ssh_keys[role] = key
        if role == "admin":
            world.objects["api_token"] = token
            world.objects["ssh_key"] = ssh
        if role == "stranger":
            world.foreign.objects["api_token"] = token
            world.foreign.objects["ssh_key"] = ssh


def destroy_world(world: World) -> None:
    """Undo `build_world` when it was committed (module-scoped): the workspaces cascade to their contents."""
    for task in (world.import_task, world.foreign.import_task):
        error_report_path(task).unlink(missing_ok=True)
    world.workspace.delete()
    world.elsewhere.delete()
    for user in world.users.values():
        user.delete()
