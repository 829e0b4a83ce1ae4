"""Projects get a stable public `uid`; a dataset can belong to several projects (`ProjectDataset`), and every
existing dataset keeps its project: each gets the link to its home project."""

import uuid

import django.db.models.deletion
from django.db import migrations, models


def fill_project_uids(apps, schema_editor):
    Project = apps.get_model("projects", "Project")
    for project in Project.objects.filter(uid=None).only("pk"):
        Project.objects.filter(pk=project.pk).update(uid=uuid.uuid4())


def link_home_projects(apps, schema_editor):
    Dataset = apps.get_model("projects", "Dataset")
    ProjectDataset = apps.get_model("projects", "ProjectDataset")
    ProjectDataset.objects.bulk_create(
        [
            ProjectDataset(workspace_id=ws, project_id=project, dataset_id=pk)
            for pk, ws, project in Dataset.objects.values_list("pk", "workspace_id", "project_id").iterator()
        ],
        batch_size=1000,
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0002_folder_item_writer"),
        ("workspaces", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="uid",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(fill_project_uids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="project",
            name="uid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.CreateModel(
            name="ProjectDataset",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "dataset",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="project_links",
                        to="projects.dataset",
                    ),
                ),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="dataset_links",
                        to="projects.project",
                    ),
                ),
                (
                    "workspace",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="workspaces.workspace"
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["dataset", "project"], name="project_dataset_by_dataset")],
                "constraints": [models.UniqueConstraint(fields=("project", "dataset"), name="project_dataset_unique")],
            },
        ),
        migrations.AddField(
            model_name="dataset",
            name="projects",
            field=models.ManyToManyField(
                related_name="linked_datasets", through="projects.ProjectDataset", to="projects.project"
            ),
        ),
        migrations.RunPython(link_home_projects, migrations.RunPython.noop),
    ]
