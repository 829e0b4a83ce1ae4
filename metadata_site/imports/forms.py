from django import forms

from metadata_site.projects.models import Dataset, Folder
from metadata_site.schemas.fields import Schema
from metadata_site.workspaces.models import Workspace

from .models import ApplyPolicy, ImportKind, ImportMode


class ImportForm(forms.Form):
    """An upload: what kind of import, into which folder or dataset, and whether to check first."""

    kind = forms.ChoiceField(
        choices=[(k, label) for k, label in ImportKind.choices if k != ImportKind.EXPORT],
        initial=ImportKind.METADATA_ROWS,
    )
    file = forms.FileField()
    folder = forms.ModelChoiceField(queryset=Folder.objects.none(), required=False)
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.none(), required=False)
    field = forms.ChoiceField(choices=[], required=False, help_text="Field values: the field the values are for.")
    mode = forms.ChoiceField(choices=ImportMode.choices, initial=ImportMode.MERGE)
    match = forms.ChoiceField(
        choices=[("media_id", "By media_id (by title when a row has none)"), ("title", "By title only")],
        initial="media_id",
        required=False,
        label="Match items",
    )
    apply = forms.ChoiceField(
        choices=[("", "Check first (dry run), then choose"), *ApplyPolicy.choices], required=False, initial=""
    )

    def __init__(self, *args, workspace: Workspace, schema: Schema, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["folder"].queryset = Folder.objects.filter(workspace=workspace)
        self.fields["dataset"].queryset = Dataset.objects.filter(workspace=workspace)
        self.fields["field"].choices = [("", "—")] + [(spec.name, spec.name) for spec in schema]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("folder") and data.get("dataset"):
            raise forms.ValidationError("Choose a folder or a dataset, not both.")
        return data

    def target(self) -> dict:
        data = self.cleaned_data
        target: dict = {}
        if data.get("folder"):
            target["folder"] = data["folder"].pk
        if data.get("dataset"):
            target["dataset"] = data["dataset"].pk
        if data.get("match") == "title":
            target["match"] = "title"
        if data.get("kind") == ImportKind.FIELD_VALUES:
            target["field"] = data.get("field") or ""
        return target


class ApplyForm(forms.Form):
    policy = forms.ChoiceField(choices=ApplyPolicy.choices)
