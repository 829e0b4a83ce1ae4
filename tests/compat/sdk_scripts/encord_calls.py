"""Runs inside the pinned Encord SDK's virtualenv (not the app's): every storage, schema and dataset call of the
issue, signed with the registered Ed25519 key.

Reads {"domain", "private_key", "viewer_private_key", "stranger_private_key", "folder", "group", "dataset",
"foreign_item", "api_token"} as JSON on stdin and prints, on its last line, a JSON object of step name → result.
"""

import uuid

from _steps import cfg, out, report, step
from encord.http.bundle import Bundle
from encord.orm.dataset import DatasetAccessSettings
from encord.user_client import EncordUserClient


def client(key: str) -> EncordUserClient:
    return EncordUserClient.create_with_ssh_private_key(ssh_private_key=key, domain=cfg["domain"])


user = client(cfg["private_key"])
folder = user.get_storage_folder(uuid.UUID(cfg["folder"]))
out["folder"] = {"ok": {"name": folder.name, "uuid": str(folder.uuid)}}

step("list_storage_folders", lambda: [f.name for f in user.list_storage_folders()])
step("find_storage_folders", lambda: [str(f.uuid) for f in user.find_storage_folders(search="flee")])
step("list_subfolders", lambda: [f.name for f in folder.list_subfolders()])
step("list_items", lambda: [(i.name, i.client_metadata) for i in folder.list_items(page_size=2)])
first = next(iter(folder.list_items(page_size=1)))


def overwrite():
    item = user.get_storage_item(first.uuid)
    item.update(client_metadata={"weather": "Rain", "temperature": 21.5})
    return {"local": item.client_metadata, "server": user.get_storage_item(first.uuid).client_metadata}


def merge():
    item = user.get_storage_item(first.uuid)
    metadata = dict(item.client_metadata)
    metadata.update({"camera": "front"})
    item.update(client_metadata=metadata)
    return user.get_storage_item(first.uuid).client_metadata


def bundle():
    items = [i for i in folder.list_items(page_size=100) if i.item_type.value == "image"]
    with Bundle() as b:
        for n, item in enumerate(items):
            item.update(client_metadata={"weather": "Sunny", "temperature": float(n)}, bundle=b)
    return {i.name: user.get_storage_item(i.uuid).client_metadata for i in items}


step("overwrite", overwrite)
step("merge", merge)
step("bundle", bundle)
step("child_items", lambda: [c.name for c in user.get_storage_item(uuid.UUID(cfg["group"])).get_child_items()])


def schema_v2():
    schema = user.metadata_schema()
    before = sorted(schema._schema)
    schema.add_scalar("camera", data_type="varchar")
    schema.add_enum("lens", values=["wide", "tele"])
    schema.save()
    return {"before": before, "after": sorted(user.metadata_schema()._schema)}


step("schema_v2", schema_v2)
step("schema_flat", lambda: {k: str(v.value) for k, v in (user.get_client_metadata_schema() or {}).items()})


def _md(row):
    return dict(row.client_metadata) if row.client_metadata is not None else None  # a MappingProxyType


def dataset():
    ds = user.get_dataset(cfg["dataset"])
    ds.set_access_settings(DatasetAccessSettings(fetch_client_metadata=True))
    rows = {r.title: _md(r) for r in ds.data_rows}
    row = ds.data_rows[0]
    row.client_metadata = {"weather": "Rain", "from": "data_row.save"}
    row.save()
    ds.refetch_data()
    return {"rows": rows, "saved_title": row.title, "after": {r.title: _md(r) for r in ds.data_rows}}


step("dataset", dataset)

# Error cases.
step("unknown_item", lambda: user.get_storage_item(uuid.uuid4()))
step("foreign_item", lambda: user.get_storage_item(uuid.UUID(cfg["foreign_item"])))
step("unregistered_key", lambda: client(cfg["stranger_private_key"]).get_storage_folder(uuid.UUID(cfg["folder"])))
step("invalid_metadata", lambda: user.get_storage_item(first.uuid).update(client_metadata={"weather": "Snow"}))


def forged() -> EncordUserClient:
    """A client that names the registered key's id but signs with another key: a forged signature."""
    impostor = client(cfg["stranger_private_key"])
    impostor._config.config.public_key_hex = user._config.config.public_key_hex
    return impostor


step("forged_signature", lambda: forged().get_storage_folder(uuid.UUID(cfg["folder"])))
step("forged_legacy_signature", lambda: forged().get_dataset(cfg["dataset"]))
step("viewer_update", lambda: client(cfg["viewer_private_key"]).get_storage_item(first.uuid).update(
    client_metadata={"weather": "Rain"}))
step("unregistered_key_dataset", lambda: client(cfg["stranger_private_key"]).get_dataset(cfg["dataset"]))
step("bearer_token", lambda: EncordUserClient.create_with_bearer_token(cfg["api_token"], domain=cfg["domain"])
     .get_storage_item(first.uuid).client_metadata)
step("final", lambda: user.get_storage_item(first.uuid).client_metadata)

report()
