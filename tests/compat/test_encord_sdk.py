"""The official Encord SDK (pinned, in its own cached virtualenv) against a live metadata_site."""

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from django.urls import reverse

from metadata_site.accounts.services import api_token_create
from metadata_site.compat.services import ssh_key_add
from metadata_site.items.models import ChangeSet, Item, ItemKind
from metadata_site.schemas.models import MetadataSchema
from tests.factories import make_dataset, make_folder, make_item, make_project, make_schema

from .sdk_env import run_script
from .signing import new_key, openssh_public

pytestmark = [pytest.mark.sdk, pytest.mark.django_db(transaction=True)]


def _private(key) -> str:
    return key.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()).decode()


def test_the_encord_sdk_reads_and_writes_client_metadata(live_server, encord_python, workspace, owner, viewer,
                                                        stranger, client):
    make_schema(workspace, [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]},
                            {"name": "temperature", "type": "float"}, {"name": "camera", "type": "string"}])
    folder = make_folder(workspace, "fleet")
    make_folder(workspace, "cameras", parent=folder)
    images = [make_item(folder, f"img_{n}.jpg", metadata={"weather": "Sunny", "n": n}) for n in range(5)]
    group = make_item(folder, "group_a", kind=ItemKind.IMAGE_GROUP)
    for n in (1, 0):
        make_item(folder, f"frame_{n}.jpg", kind=ItemKind.FRAME, parent=group, frame_index=n)
    dataset = make_dataset(make_project(workspace, "roads"), "train", items=images[:2])
    foreign = make_item(make_folder(stranger.memberships.get().workspace, "theirs"), "secret.jpg")

    owner_key, viewer_key, unregistered = new_key(), new_key(), new_key()
    ssh_key_add(user=owner, public_key=openssh_public(owner_key))
    ssh_key_add(user=viewer, public_key=openssh_public(viewer_key))
    payload = {
        "domain": live_server.url,
        "private_key": _private(owner_key),
        "viewer_private_key": _private(viewer_key),
        "stranger_private_key": _private(unregistered),
        "folder": str(folder.uid),
        "group": str(group.uid),
        "dataset": str(dataset.uid),
        "foreign_item": str(foreign.uid),
        "api_token": api_token_create(user=viewer, name="encord")[1],
    }

    out = run_script(encord_python, "encord_calls.py", payload)

    assert out["folder"]["ok"] == {"name": "fleet", "uuid": str(folder.uid)}
    assert out["list_storage_folders"]["ok"] == ["fleet"]
    assert out["find_storage_folders"]["ok"] == [str(folder.uid)]
    assert out["list_subfolders"]["ok"] == ["cameras"]
    names = [name for name, _ in out["list_items"]["ok"]]
    assert names == ["group_a", "img_0.jpg", "img_1.jpg", "img_2.jpg", "img_3.jpg", "img_4.jpg"]
    assert dict(out["list_items"]["ok"])["img_3.jpg"] == {"weather": "Sunny", "n": 3}
    assert out["overwrite"]["ok"] == {"local": {"weather": "Rain", "temperature": 21.5},
                                      "server": {"weather": "Rain", "temperature": 21.5}}
    assert out["merge"]["ok"] == {"weather": "Rain", "temperature": 21.5, "camera": "front"}
    assert out["bundle"]["ok"] == {f"img_{n}.jpg": {"weather": "Sunny", "temperature": float(n)} for n in range(5)}
    assert out["child_items"]["ok"] == ["frame_0.jpg", "frame_1.jpg"]
    assert out["schema_v2"]["ok"] == {"before": ["camera", "temperature", "weather"],
                                      "after": ["camera", "lens", "temperature", "weather"]}
    assert out["schema_flat"]["ok"] == {"weather": "enum", "temperature": "number", "camera": "string",
                                        "lens": "enum"}
    assert out["dataset"]["ok"]["rows"] == {"img_0.jpg": {"weather": "Sunny", "temperature": 0.0},
                                            "img_1.jpg": {"weather": "Sunny", "temperature": 1.0}}
    saved = out["dataset"]["ok"]["saved_title"]
    assert out["dataset"]["ok"]["after"][saved] == {"weather": "Rain", "from": "data_row.save"}

    # Error cases.
    assert out["unknown_item"]["error"] == "ResourceNotFoundError"
    assert out["foreign_item"]["error"] == "ResourceNotFoundError"
    assert out["unregistered_key"]["error"] == "AuthenticationError"
    assert out["forged_signature"]["error"] == "AuthenticationError"
    assert out["forged_legacy_signature"]["error"] == "AuthenticationError"
    assert out["unregistered_key_dataset"]["error"] == "AuthenticationError"
    assert out["invalid_metadata"]["error"] == "InvalidArgumentsError"
    assert "weather" in out["invalid_metadata"]["message"]
    assert out["viewer_update"]["error"] == "AuthorisationError"
    assert all(step.get("seconds", 0) < 10 for step in out.values()), out

    # Server side: one change set per write, one for the whole bundle; the schema save is a new version.
    assert out["final"]["ok"] == {"weather": "Rain", "temperature": 21.5, "camera": "front"}
    assert out["bearer_token"]["ok"] == out["final"]["ok"]
    assert Item.objects.get(pk=group.pk).client_metadata == out["final"]["ok"]
    bundle_sets = [c for c in ChangeSet.objects.filter(source="encord-sdk") if c.item_count == 5]
    assert len(bundle_sets) == 1
    assert MetadataSchema.objects.filter(workspace=workspace).order_by("-version").first().version == 2
    # The item page shows what the SDK wrote.
    client.force_login(owner)
    page = client.get(reverse("items:item", args=[workspace.slug, images[1].uid])).content.decode()
    assert "Sunny" in page and "1.0" in page
