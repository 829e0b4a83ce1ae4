"""The official Encord SDK's projects and label rows (pinned, in its own cached virtualenv) against a live
metadata_site: `get_project(uid)`, `list_datasets()`, `list_label_rows_v2()` with its filters, label rows that read
as empty and refuse every label write, the seed's script "All data units in a Project", and datasets attached to
several projects."""

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from metadata_site.compat.services import ssh_key_add
from metadata_site.items.models import Item, ItemKind
from metadata_site.projects.services import project_attach_dataset
from metadata_site.workspaces.models import Workspace
from tests.factories import make_dataset, make_folder, make_item, make_project

from .sdk_env import run_script
from .signing import new_key, openssh_public

pytestmark = [pytest.mark.sdk, pytest.mark.django_db(transaction=True)]


def _private(key) -> str:
    return key.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()).decode()


def test_the_encord_sdk_reads_projects_and_label_rows(live_server, encord_python, workspace, owner, viewer,
                                                      stranger):
    folder = make_folder(workspace, "fleet")
    a = make_item(folder, "a.jpg", metadata={"weather": "Sunny"})
    b = make_item(folder, "b.jpg")
    c = make_item(folder, "c.png", metadata={"keep": 1})
    group = make_item(folder, "group_g", kind=ItemKind.IMAGE_GROUP)
    for n in (0, 1):
        make_item(folder, f"g_{n}.jpg", kind=ItemKind.FRAME, parent=group, frame_index=n)
    roads, signs = make_project(workspace, "roads"), make_project(workspace, "signs")
    dataset_a = make_dataset(roads, "A", items=[a, b, group])
    dataset_b = make_dataset(make_project(workspace, "cars"), "B", items=[c])
    make_dataset(signs, "S")
    project_attach_dataset(project=roads, dataset=dataset_b)
    foreign = make_project(Workspace.objects.get(slug="elsewhere"), "theirs")

    owner_key, viewer_key = new_key(), new_key()
    ssh_key_add(user=owner, public_key=openssh_public(owner_key))
    ssh_key_add(user=viewer, public_key=openssh_public(viewer_key))
    out = run_script(encord_python, "encord_projects.py", {
        "domain": live_server.url, "private_key": _private(owner_key), "viewer_private_key": _private(viewer_key),
        "project": str(roads.uid), "other_project": str(signs.uid), "foreign_project": str(foreign.uid),
        "dataset_a": str(dataset_a.uid), "dataset_b": str(dataset_b.uid),
    })

    assert out["project"]["ok"] == {"hash": str(roads.uid), "title": "roads", "ontology": 0}
    assert out["list_datasets"]["ok"] == ["A", "B"]
    rows = out["label_rows"]["ok"]
    assert [(r["dataset_title"], r["data_title"]) for r in rows] == [
        ("A", "a.jpg"), ("A", "b.jpg"), ("A", "group_g"), ("B", "c.png")]
    by_title = {r["data_title"]: r for r in rows}
    assert by_title["a.jpg"]["data_hash"] == by_title["a.jpg"]["backing_item_uuid"] == str(a.uid)
    assert by_title["a.jpg"]["data_type"] == "image" and by_title["group_g"]["data_type"] == "img_group"
    assert by_title["group_g"]["number_of_frames"] == 2
    assert {r["label_status"] for r in rows} == {"NOT_LABELLED"}
    assert out["data_title_eq"]["ok"] == ["b.jpg"]
    assert out["data_title_like"]["ok"] == ["a.jpg", "b.jpg"]
    assert out["client_metadata"]["ok"] == {"a.jpg": {"weather": "Sunny"}, "b.jpg": {}, "group_g": {},
                                            "c.png": {"keep": 1}}
    assert out["labelled_only"]["ok"] == []
    # Labels read as empty; writing them is refused with a clear error, and nothing is accepted silently.
    assert out["initialise_labels"]["ok"] == {t: {"objects": 0, "classifications": 0} for t in by_title}
    assert out["save_labels"]["error"] == "InvalidArgumentsError"
    assert "keeps no labels" in out["save_labels"]["message"]
    # The seed's script runs as written.
    assert out["project_script"]["ok"] == {t: {"my": "new dict"} for t in by_title}
    assert all(Item.objects.get(pk=i.pk).client_metadata == {"my": "new dict"} for i in (a, b, c, group))
    # Datasets attach to and detach from a second project; the home project cannot be left.
    assert out["attach_detach"]["ok"] == {"before": ["S"], "attached": ["B", "S"], "after": ["S"]}
    assert out["detach_home"]["error"] == "InvalidArgumentsError"
    assert "home project" in out["detach_home"]["message"]
    assert out["viewer_attach"]["error"] == "AuthorisationError"
    assert out["viewer_reads"]["ok"] == 4
    assert out["unknown_project"]["error"] == "ResourceNotFoundError"
    assert out["foreign_project"]["error"] == "ResourceNotFoundError"
    assert all(step.get("seconds", 0) < 10 for step in out.values()), out
