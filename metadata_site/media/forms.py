"""Forms of the media pages: acting on near-duplicate groups."""

from django import forms

from metadata_site.projects.models import Dataset
from metadata_site.workspaces.models import Workspace


class DuplicatesCollectionForm(forms.Form):
    title = forms.CharField(max_length=200, strip=True, label="New collection")


class DuplicatesDatasetForm(forms.Form):
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.none(), label="Dataset",
                                     error_messages={"invalid_choice": "Choose a dataset of this workspace."})

    def __init__(self, *args, workspace: Workspace, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["dataset"].queryset = Dataset.objects.filter(workspace=workspace).order_by("name")
