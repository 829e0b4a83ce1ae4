"""Every code example of the Encord seed document (tests/compat/seeds/001_*.txt), extracted from the text and run
with the pinned `encord` SDK against a live metadata_site, with only its placeholders filled in: folders, bundles,
image groups, datasets and the project script."""

import uuid

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from metadata_site.compat.services import ssh_key_add
from metadata_site.items.models import Item, ItemKind
from metadata_site.projects.models import Folder
from tests.factories import make_dataset, make_item, make_project, make_schema

from .sdk_env import run_script
from .seed_examples import encord_examples
from .signing import new_key, openssh_public

pytestmark = [pytest.mark.sdk, pytest.mark.django_db(transaction=True)]

# The uids the document's examples name literally: a folder and four data units.
DOC_FOLDER = "2a838557-d6f4-4408-a980-64246dc5c56b"
DOC_ITEMS = {
    "8ad58157-ca74-4ae4-8f37-a0193430bcac": "dark.jpg",
    "f165fe81-1956-4347-81ca-3a3b198f3f23": "light.jpg",
    "9bd58157-ca74-4ae4-8f37-a0193431bcba": "count.jpg",
    "62daaa33-195e-4faf-be5b-8335a239beb6": "taken.jpg",
}
BULK_PLACEHOLDER_LINES = [  # "Bulk custom metadata import on specific data units": its dict's entries are comments
    '    # "<data-unit-id>": {"metadata-1": "metadata-value"},',
    '    # "<data-unit-id>": {"metadata-2": False},',
    '    # "<data-unit-id>": {"metadata-1": "metadata-value"},',
    '    # "<data-unit-id>": {"metadata-2": True}',
]


def _private(key) -> str:
    return key.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()).decode()


def _folder(workspace, name, uid=None):
    return Folder.objects.create(workspace=workspace, name=name, **({"uid": uuid.UUID(uid)} if uid else {}))


def test_every_encord_example_runs_as_written(live_server, encord_python, workspace, owner, tmp_path):
    # "Import a metadata schema" first, as the document recommends.
    make_schema(workspace, [{"name": "dark", "type": "boolean"}, {"name": "captured_at", "type": "datetime"},
                            {"name": "taken_at", "type": "datetime"}])
    fleet = _folder(workspace, "fleet", DOC_FOLDER)
    for uid, title in DOC_ITEMS.items():
        make_item(fleet, title, uid=uuid.UUID(uid))
    group = make_item(fleet, "group", kind=ItemKind.IMAGE_GROUP)
    frames = [make_item(fleet, f"frame_{n}.jpg", kind=ItemKind.FRAME, parent=group, frame_index=n) for n in (0, 1)]
    bulk = _folder(workspace, "bulk")
    bulk_items = [make_item(bulk, f"bulk_{n}.jpg", metadata={"keep": n}) for n in range(4)]
    images = _folder(workspace, "images")
    dataset_items = [make_item(images, f"Image{n}.png") for n in range(1, 5)]
    dataset = make_dataset(make_project(workspace, "roads"), "train", items=dataset_items)

    key = new_key()
    ssh_key_add(user=owner, public_key=openssh_public(key))
    key_file = tmp_path / "sdk-ssh-private-key.txt"
    key_file.write_text(_private(key))
    path = str(key_file)
    some_item = next(iter(DOC_ITEMS))

    examples = encord_examples()
    assert len(examples) == 14
    fill = {  # by the example's line in the document
        73: {"<file-path-to-ssh-private-key-file>": path, "<unique-folder-id>": DOC_FOLDER},
        93: {"/Users/chris-encord/sdk-ssh-private-key.txt": path},
        122: {"<file-path-to-ssh-private-key-file>": path, "<unique-folder-id>": DOC_FOLDER},
        152: {"/Users/chris-encord/sdk-ssh-private-key.txt": path},
        187: {"<file-path-to-ssh-private-key-file>": path, "<unique-folder-id>": DOC_FOLDER},
        206: {"/Users/chris-encord/sdk-ssh-private-key.txt": path},
        232: {"<private_key_path>": path, "<data-unit-id>": some_item},
        # This script passes SSH_PATH positionally, which the SDK reads as the key itself (its first parameter is
        # `ssh_private_key`): the placeholder is filled with the key.
        262: {"<private_key_path>": _private(key).replace("\n", "\\n"), "<project_hash>": str(dataset.project.uid)},
        286: {"<ssh-private-key>": path, "<unique-folder-id>": str(bulk.uid)},
        315: {"<ssh-private-key>": path, "<unique-folder-id>": str(bulk.uid)},
        353: {"<private_key_path>": path, "<image-group-id>": str(group.uid)},
        404: {"<private_key_path>": path, "<dataset_hash>": str(dataset.uid)},
        438: {"<private_key_path>": path, "<dataset_hash>": str(dataset.uid)},
        470: {"<private_key_path>": path, "<dataset_hash>": str(dataset.uid)},
    }
    blocks = [{"name": e.name, "code": e.filled(fill[e.line]), "fresh": True} for e in examples]
    # The bulk example on specific data units keeps its entries as comments, so as written its dict is empty and
    # `updates[storage_item.uuid]` raises KeyError. It runs a second time with those placeholders filled in, each
    # "<data-unit-id>" with the data unit's id as the SDK gives it (`storage_item.uuid` is a UUID, so a string key
    # would never match; the example imports nothing that makes one, hence `__import__`).
    bulk_example = next(e for e in examples if e.line == 315)
    entries = bulk_example.filled(fill[315])
    for line, item in zip(BULK_PLACEHOLDER_LINES, bulk_items, strict=True):
        uid = f"__import__('uuid').UUID('{item.uid}')"
        entries = entries.replace(line, line.replace("# ", "", 1).replace('"<data-unit-id>"', uid), 1)
    blocks.append({"name": "line 315, its commented entries filled", "code": entries, "fresh": True})

    out = run_script(encord_python, "seed_runner.py", {"sdk": "encord", "domain": live_server.url,
                                                       "blocks": blocks})
    by_line = {int(name.split(":")[0].removeprefix("line ")): result for name, result in out.items()
               if name.startswith("line ") and ":" in name}
    failed = {name: r for name, r in out.items() if "ok" not in r and not name.startswith("line 315:")}
    assert not failed, failed

    # Folders: list, overwrite specific items, overwrite all, merge specific.
    assert all(uid in by_line[93]["ok"] for uid in DOC_ITEMS)
    md = {str(i.uid): i.client_metadata for i in Item.objects.filter(folder=fleet, parent=None)}
    merged = {"dark": True, "captured_at": "2024-02-24T00:00:00Z", "metadata": "metadata-value"}
    assert md[some_item] == merged  # "Specific data units in Index" merged into "Example" of all data units
    assert all(v == {"dark": True, "captured_at": "2024-02-24T00:00:00Z"} for k, v in md.items() if k != some_item)
    # Image group: every frame got the metadata, and the example's own check passed.
    assert "successfully added and verified" in by_line[353]["ok"]
    assert all(Item.objects.get(pk=f.pk).client_metadata == {"somekindof": "number"} for f in frames)
    # Bulk: all items, then (with its entries filled) specific items; as written the latter raises KeyError.
    assert out[bulk_example.name]["error"] == "KeyError"
    assert "ok" in out["line 315, its commented entries filled"]
    assert [Item.objects.get(pk=i.pk).client_metadata for i in bulk_items] == [
        {"metadata-1": "metadata-value"}, {"metadata-2": False}, {"metadata-1": "metadata-value"},
        {"metadata-2": True}]
    # Datasets: list, one value per data unit, the same for all; the project script ran before them.
    assert "Data Unit: 3" in by_line[404]["ok"] and "{'my': 'new dict'}" in by_line[404]["ok"]
    assert "'group-id': 'D'" in by_line[438]["ok"]
    assert all(Item.objects.get(pk=i.pk).client_metadata == {"my": "metadata"} for i in dataset_items)
