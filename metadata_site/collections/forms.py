from django import forms

from metadata_site.projects.models import Project
from metadata_site.workspaces.models import Workspace

from .models import Collection, CollectionKind


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
