"""Migration projects 0003: projects get a uid and every existing dataset keeps its project as a link."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("projects", "0002_folder_item_writer")]
AFTER = [("projects", "0003_project_uid_and_several_projects_per_dataset")]


@pytest.mark.django_db(transaction=True)
def test_it_gives_projects_uids_and_keeps_every_dataset_in_its_project():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        Workspace = old.get_model("workspaces", "Workspace")
        Project = old.get_model("projects", "Project")
        Dataset = old.get_model("projects", "Dataset")
        ws = Workspace.objects.create(name="Old", slug="old")
        now = timezone.now()
        roads, signs = (Project.objects.create(workspace=ws, name=n, updated_at=now) for n in ("roads", "signs"))
        datasets = {
            name: Dataset.objects.create(workspace=ws, project=project, name=name, updated_at=now)
            for name, project in (("train", roads), ("val", roads), ("all-signs", signs))
        }

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps
        Project = new.get_model("projects", "Project")
        ProjectDataset = new.get_model("projects", "ProjectDataset")
        uids = list(Project.objects.filter(workspace_id=ws.pk).values_list("uid", flat=True))
        assert len(uids) == 2 and None not in uids and len(set(uids)) == 2
        links = set(ProjectDataset.objects.values_list("project__name", "dataset__name"))
        assert links == {("roads", "train"), ("roads", "val"), ("signs", "all-signs")}
        assert {d.pk for d in datasets.values()} == set(ProjectDataset.objects.values_list("dataset_id", flat=True))
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
