from django import forms

from metadata_site.projects.models import Project
from metadata_site.workspaces.models import Workspace

from .models import Collection, CollectionKind


def parse_ids(values: list[str]) -> list[int]:
    """Item or collection ids from repeated and/or comma-separated parameters."""
    ids: list[int] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit():
                raise forms.ValidationError(f"“{part}” is not an id.")
            ids.append(int(part))
    return ids


class SelectionForm(forms.Form):
    """The explorer selection: ticked `ids`, or `all=1` for every item matching the filter parameters
    (``f``, ``any``, ``scope``) sent alongside."""

    ids = forms.CharField(required=False)
    all = forms.BooleanField(required=False)

    def __init__(self, data, **kwargs) -> None:
        super().__init__(data, **kwargs)
        self._raw_ids = data.getlist("ids") if hasattr(data, "getlist") else []

    def clean(self) -> dict:
        cleaned = super().clean()
        cleaned["ids"] = [] if cleaned.get("all") else parse_ids(self._raw_ids)
        return cleaned


class AddToCollectionForm(forms.Form):
    target = forms.ChoiceField(choices=[("new", "A new collection"), ("existing", "An existing collection")])
    title = forms.CharField(max_length=200, required=False)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    kind = forms.ChoiceField(choices=CollectionKind.choices, initial=CollectionKind.FROZEN, required=False)
    collection = forms.ModelChoiceField(queryset=Collection.objects.none(), required=False)

    def __init__(self, *args, workspace: Workspace, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["collection"].queryset = Collection.objects.filter(
            workspace=workspace, kind=CollectionKind.FROZEN
        ).order_by("title")

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("target") == "existing" and not cleaned.get("collection"):
            self.add_error("collection", "Pick a collection.")
        if cleaned.get("target") == "new" and not (cleaned.get("title") or "").strip():
            self.add_error("title", "A collection needs a title.")
        return cleaned


class CollectionEditForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class DatasetFromCollectionsForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    project = forms.ModelChoiceField(queryset=Project.objects.none(), required=False, empty_label="— a new project —")
    new_project_name = forms.CharField(max_length=200, required=False, label="New project name")
    split_image_groups = forms.BooleanField(required=False, label="Split image groups (each frame becomes an item)")

    def __init__(self, *args, workspace: Workspace, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = Project.objects.filter(workspace=workspace).order_by("name")
