"""Runs inside the pinned Encord SDK's virtualenv (not the app's): projects and label rows.

Reads {"domain", "private_key", "viewer_private_key", "project", "other_project", "foreign_project", "dataset_b"}
as JSON on stdin and prints, on its last line, a JSON object of step name → result.
"""

import uuid

from _steps import cfg, out, report, step
from encord.orm.label_row import LabelStatus
from encord.user_client import EncordUserClient


def client(key: str) -> EncordUserClient:
    return EncordUserClient.create_with_ssh_private_key(ssh_private_key=key, domain=cfg["domain"])


user = client(cfg["private_key"])
project = user.get_project(cfg["project"])
out["project"] = {"ok": {"hash": project.project_hash, "title": project.title,
                         "ontology": len(project.ontology_structure.objects)}}

step("list_datasets", lambda: sorted(d.title for d in project.list_datasets()))


def _row(r):
    return {"data_title": r.data_title, "data_hash": r.data_hash, "backing_item_uuid": str(r.backing_item_uuid),
            "data_type": r.data_type.value, "dataset_title": r.dataset_title, "label_hash": r.label_hash,
            "label_status": r.label_status.value, "number_of_frames": r.number_of_frames}


step("label_rows", lambda: [_row(r) for r in project.list_label_rows_v2()])
step("data_title_eq", lambda: [r.data_title for r in project.list_label_rows_v2(data_title_eq="b.jpg")])
step("data_title_like", lambda: sorted(r.data_title for r in project.list_label_rows_v2(data_title_like="%.jpg")))
step("client_metadata", lambda: {r.data_title: r.client_metadata
                                 for r in project.list_label_rows_v2(include_client_metadata=True)})
step("labelled_only", lambda: [r.data_title for r in project.list_label_rows_v2(label_statuses=[])]
     + [r.data_title for r in project.list_label_rows_v2(
         label_statuses=[LabelStatus.LABELLED])])


def labels():
    rows = project.list_label_rows_v2()
    read = {}
    for row in rows:
        row.initialise_labels()
        read[row.data_title] = {"objects": len(row.get_object_instances()),
                                "classifications": len(row.get_classification_instances())}
    return read


step("initialise_labels", labels)


def save_labels():
    row = project.list_label_rows_v2(data_title_eq="a.jpg")[0]
    row.initialise_labels()
    row.save()


step("save_labels", save_labels)


def all_data_units_in_a_project():
    # The seed's script "All data units in a Project".
    for label_row in project.list_label_rows_v2():
        storage_item = user.get_storage_item(label_row.backing_item_uuid)
        storage_item.update(client_metadata={"my": "new dict"})
    return {r.data_title: user.get_storage_item(r.backing_item_uuid).client_metadata
            for r in project.list_label_rows_v2()}


step("project_script", all_data_units_in_a_project)


def attach_detach():
    other = user.get_project(cfg["other_project"])
    before = sorted(d.title for d in other.list_datasets())
    other.add_datasets([cfg["dataset_b"]])
    attached = sorted(d.title for d in other.list_datasets())
    other.remove_datasets([cfg["dataset_b"]])
    return {"before": before, "attached": attached, "after": sorted(d.title for d in other.list_datasets())}


step("attach_detach", attach_detach)
step("detach_home", lambda: user.get_project(cfg["project"]).remove_datasets([cfg["dataset_a"]]))
step("viewer_attach", lambda: client(cfg["viewer_private_key"]).get_project(cfg["other_project"]).add_datasets(
    [cfg["dataset_b"]]))
step("viewer_reads", lambda: len(client(cfg["viewer_private_key"]).get_project(cfg["project"]).list_label_rows_v2()))
step("unknown_project", lambda: user.get_project(str(uuid.uuid4())))
step("foreign_project", lambda: user.get_project(cfg["foreign_project"]))

report()
