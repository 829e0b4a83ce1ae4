import uuid

from django.conf import settings
from django.db import models

from metadata_site.workspaces.models import Workspace


class Folder(models.Model):
    """A node of the workspace's storage tree; items live in folders."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="folders")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The import task (uid) that last created top-level items here: a data import takes the folder's row lock
    # for each batch and, seeing another writer, knows its titles may have been taken meanwhile.
    item_writer = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "parent", "name"], name="folder_unique_name"),
            models.UniqueConstraint(
                fields=["workspace", "name"], condition=models.Q(parent=None), name="folder_unique_root_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def descendant_ids(self, *, include_self: bool = True) -> list[int]:
        """Ids of this folder's subtree, walked level by level (one query per level)."""
        ids = [self.pk] if include_self else []
        frontier = [self.pk]
        while frontier:
            frontier = list(Folder.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
            ids.extend(frontier)
        return ids

    def ancestors(self) -> list["Folder"]:
        chain: list[Folder] = []
        node = self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return list(reversed(chain))


class InfoFields(models.Model):
    """README and custom data with their optimistic-concurrency versions (projects and datasets)."""

    readme = models.TextField(blank=True)
    readme_version = models.PositiveIntegerField(default=1)
    custom_data = models.JSONField(default=dict, blank=True)
    custom_data_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    # Not auto_now: a `silent` save must be able to leave it unchanged.
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True


class Project(InfoFields):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="projects")
    # The stable public id (Encord's project hash), shown on the project page and in the API.
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Optional JSON Schema that custom data of the project and of its datasets must satisfy.
    custom_data_schema = models.JSONField(null=True, blank=True)
    custom_data_schema_version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="project_unique_name")]

    def __str__(self) -> str:
        return self.name


class DatasetStatus(models.TextChoices):
    READY = "READY", "Ready"
    IMPORTING = "IMPORTING", "Importing"


class Dataset(InfoFields):
    """A set of items used by projects. `project` is its home project: the one Supervisely's protocol shows, whose
    custom-data schema applies, and whose deletion deletes it. As in Encord, it can also be attached to other
    projects (`projects`, which always includes the home project)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="datasets")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="datasets")
    projects = models.ManyToManyField(Project, through="ProjectDataset", related_name="linked_datasets")
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=DatasetStatus.choices, default=DatasetStatus.READY)
    progress = models.PositiveSmallIntegerField(default=100)
    # Where the dataset came from: {"collections": [{"id", "title"}], "filter": {...}}.
    source = models.JSONField(default=dict, blank=True)
    items = models.ManyToManyField("items.Item", through="DatasetItem", related_name="datasets")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="dataset_unique_name")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:  # a new dataset belongs to its home project
            ProjectDataset.objects.get_or_create(workspace_id=self.workspace_id, project_id=self.project_id, dataset=self)


class ProjectDataset(models.Model):
    """A dataset attached to a project (a dataset can be in several)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="dataset_links")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="project_links")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "dataset"], name="project_dataset_unique")]
        indexes = [models.Index(fields=["dataset", "project"], name="project_dataset_by_dataset")]

    def __str__(self) -> str:
        return f"{self.dataset_id} in project {self.project_id}"


class DatasetItem(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="memberships")
    item = models.ForeignKey("items.Item", on_delete=models.CASCADE, related_name="dataset_memberships")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "item"], name="dataset_item_unique")]
        indexes = [models.Index(fields=["item", "dataset"], name="dataset_item_by_item")]

    def __str__(self) -> str:
        return f"{self.item_id} in {self.dataset_id}"


class InfoKind(models.TextChoices):
    README = "readme", "README"
    CUSTOM_DATA = "custom_data", "Custom data"
    CUSTOM_DATA_SCHEMA = "custom_data_schema", "Custom data schema"


class InfoRevision(models.Model):
    """One saved version of a project's or dataset's README, custom data or custom data schema."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.CASCADE, related_name="revisions")
    dataset = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.CASCADE, related_name="revisions")
    kind = models.CharField(max_length=24, choices=InfoKind.choices)
    version = models.PositiveIntegerField()
    value = models.JSONField(null=True, blank=True)
    previous = models.JSONField(null=True, blank=True)
    restored_from = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(project__isnull=False, dataset__isnull=True)
                | models.Q(project__isnull=True, dataset__isnull=False),
                name="revision_one_owner",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "kind", "version"], name="revision_project"),
            models.Index(fields=["dataset", "kind", "version"], name="revision_dataset"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} v{self.version}"
