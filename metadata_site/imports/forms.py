from django import forms

from metadata_site.projects.models import Dataset, Folder
from metadata_site.schemas.fields import Schema
from metadata_site.workspaces.models import Workspace

from .kinds import ROW_TITLE_NEEDS_SCOPE
from .models import ApplyPolicy, ImportKind, ImportMode
from .services import IMPORT_DATA_NEEDS_FOLDER, IMPORT_FIELD_REQUIRED

IMPORT_FOLDER_OR_DATASET = "Choose a folder or a dataset, not both."

# The inputs each kind of import reads (the others are hidden by the page's script and ignored here).
KIND_FIELDS = {
    "folder": (ImportKind.METADATA_ROWS, ImportKind.FIELD_VALUES, ImportKind.DATA),
    "dataset": (ImportKind.METADATA_ROWS, ImportKind.FIELD_VALUES),
    "field": (ImportKind.FIELD_VALUES,),
    "mode": (ImportKind.METADATA_ROWS, ImportKind.DATA),
    "match": (ImportKind.METADATA_ROWS,),
}


class ImportForm(forms.Form):
    """An upload: what kind of import, into which folder or dataset, and whether to check first. Only the
    inputs of the chosen kind count (`KIND_FIELDS`); a target the import cannot use is refused here, at once,
    not after the upload was read."""

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

    def rows(self) -> list[tuple[forms.BoundField, str, str]]:
        """Each visible input with the kinds it belongs to, for the page's script ("" for every kind), and
        their names when not every kind reads it (shown without JavaScript)."""
        rows = []
        for field in self.visible_fields():
            kinds = KIND_FIELDS.get(field.name, ())
            labels = ", ".join(ImportKind(k).label.lower() for k in kinds) if len(kinds) < 3 else ""
            rows.append((field, " ".join(kinds), labels))
        return rows

    def clean(self) -> dict:
        data = super().clean()
        kind = data.get("kind")
        if kind is None:
            return data
        for name, kinds in KIND_FIELDS.items():
            if kind not in kinds:
                data[name] = self.fields[name].initial if name in ("mode", "match") else None
        if data.get("folder") and data.get("dataset"):
            raise forms.ValidationError(IMPORT_FOLDER_OR_DATASET)
        if kind == ImportKind.DATA and not data.get("folder"):
            self.add_error("folder", IMPORT_DATA_NEEDS_FOLDER)
        if kind == ImportKind.FIELD_VALUES and not data.get("field"):
            self.add_error("field", IMPORT_FIELD_REQUIRED)
        if data.get("match") == "title" and not data.get("folder") and not data.get("dataset"):
            self.add_error("match", ROW_TITLE_NEEDS_SCOPE)
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
