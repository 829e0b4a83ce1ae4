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


DESCRIPTOR = ""  # the `source` of the built-in visual descriptor
BAD_BITS = "For the built-in descriptor the threshold is a whole number of bits from 0 to {max} (got {value})."
BAD_DISTANCE = "For the embedding field “{field}” ({metric}) the threshold is a distance: {reason}."
NO_SOURCE = "Choose the built-in descriptor or an embedding field of the schema."


class DuplicateScanForm(forms.Form):
    """What a near-duplicate search compares: the built-in descriptor (threshold in bits, 0 to 7) or an embedding
    field of the schema (threshold a distance in the field's metric). `cleaned_data["field"]` is the embedding
    field (`vectors.Field`) or None."""

    source = forms.ChoiceField(label="Compare", required=False,
                               error_messages={"invalid_choice": NO_SOURCE})
    threshold = forms.CharField(label="Threshold", required=False, max_length=40, strip=True)

    def __init__(self, *args, workspace: Workspace, **kwargs) -> None:
        from metadata_site.schemas.selectors import schema_current

        from .lookalike import DUPLICATE_BITS
        from .vectors import field_of

        super().__init__(*args, **kwargs)
        self.workspace = workspace
        self.max_bits = DUPLICATE_BITS
        self.embeddings = {name: field_of(spec) for name, spec in
                           schema_current(workspace=workspace).embeddings.items()}
        self.fields["source"].choices = [(DESCRIPTOR, "Built-in visual descriptor (bits of 64)")] + [
            (name, f"Embedding “{name}” ({f.distance} distance, {f.dimension}-d)") for name, f in self.embeddings.items()
        ]

    def clean(self) -> dict:
        data = super().clean()
        if "source" not in data:
            return data
        source = data["source"] or DESCRIPTOR
        raw = data.get("threshold") or ""
        field = self.embeddings.get(source)
        data["field"] = field
        if field is None:
            if not raw:
                data["threshold_value"] = float(self.max_bits)
            elif not raw.isdigit() or int(raw) > self.max_bits:
                self.add_error("threshold", BAD_BITS.format(max=self.max_bits, value=raw[:20]))
            else:
                data["threshold_value"] = float(int(raw))
            return data
        from .vector_dupes import threshold_error, unavailable

        busy = unavailable(workspace_id=self.workspace.pk, field=field)
        if busy:
            self.add_error("source", busy)
        if not raw:
            self.add_error("threshold", BAD_DISTANCE.format(field=field.name, metric=field.distance,
                                                            reason="give one (for example 0.05)"))
            return data
        try:
            value = float(raw)
        except ValueError:
            self.add_error("threshold", BAD_DISTANCE.format(field=field.name, metric=field.distance,
                                                            reason=f"{raw[:20]!r} is not a number"))
            return data
        reason = threshold_error(field, value)
        if reason:
            self.add_error("threshold", BAD_DISTANCE.format(field=field.name, metric=field.distance, reason=reason))
        else:
            data["threshold_value"] = value
        return data
