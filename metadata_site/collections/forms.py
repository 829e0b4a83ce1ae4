import uuid

from django import forms

from metadata_site.lib.userinput import parse_id
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
            pk = parse_id(part)
            if pk is None:
                raise forms.ValidationError(f"“{part}” is not an id.")
            ids.append(pk)
    return ids


class SelectionForm(forms.Form):
    """The explorer's selection: ``selection=ids`` with repeated ``item=<uid>`` (ticked items), or
    ``selection=filter`` with the explorer's ``f``/``any``/``scope`` parameters (every item matching).
    Also accepted: ``ids=<pk>,<pk>`` (ticked items by id) and ``all=1`` (= ``selection=filter``)."""

    selection = forms.ChoiceField(choices=[("ids", "ids"), ("filter", "filter")], required=False)
    all = forms.BooleanField(required=False)

    def __init__(self, data, **kwargs) -> None:
        super().__init__(data, **kwargs)
        getlist = data.getlist if hasattr(data, "getlist") else (lambda key: [])
        self._raw_ids, self._raw_uids = getlist("ids"), getlist("item")

    def clean(self) -> dict:
        cleaned = super().clean()
        cleaned["all"] = bool(cleaned.get("all")) or cleaned.get("selection") == "filter"
        cleaned["ids"] = [] if cleaned["all"] else parse_ids(self._raw_ids)
        uids = []
        for value in [] if cleaned["all"] else self._raw_uids:
            try:
                uids.append(uuid.UUID(str(value)))
            except ValueError:
                raise forms.ValidationError(f"“{value}” is not an item id.") from None
        cleaned["uids"] = uids
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
