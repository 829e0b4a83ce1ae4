from typing import Any

from django import forms

from metadata_site.lib.userinput import AsciiIntegerField

from .fields import FieldType
from .services import SchemaError, schema_document_fields

SCHEMA_IMPORT_EMPTY = "Paste a schema or choose a file."
SCHEMA_IMPORT_FILE_ENCODING = "The file is not UTF-8 text."

TYPE_CHOICES = [(t.value, t.value) for t in FieldType]


def _split_options(text: str) -> list[str]:
    """Options one per line (or comma-separated on one line)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) == 1 and "," in lines[0]:
        lines = [part.strip() for part in lines[0].split(",") if part.strip()]
    return lines


class FieldDeclarationForm(forms.Form):
    name = forms.CharField(max_length=200)
    type = forms.ChoiceField(choices=TYPE_CHOICES, initial=FieldType.STRING.value)
    options = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Enum only: one option per line."
    )
    is_multi = forms.BooleanField(required=False, label="Multi-valued (enum: a list of options)")
    description = forms.CharField(required=False, max_length=1000)
    unit = forms.CharField(required=False, max_length=40)

    def declaration(self) -> dict[str, Any]:
        """The declaration the form describes. Options and "multi-valued" belong to enums only: for any other
        type they are cleared (a field changed away from enum keeps no stale options)."""
        data = self.cleaned_data
        is_enum = data["type"] == FieldType.ENUM.value
        return {
            "name": data.get("name", ""),
            "type": data["type"],
            "options": _split_options(data.get("options") or "") if is_enum else [],
            "is_multi": data.get("is_multi", False) and is_enum,
            "description": data.get("description", ""),
            "unit": data.get("unit", ""),
        }


class FieldChangeForm(FieldDeclarationForm):
    """The declaration of an existing field, without its name (a field keeps its name)."""

    name = None
    base_version = AsciiIntegerField(widget=forms.HiddenInput)

    @classmethod
    def for_spec(cls, spec, version: int) -> "FieldChangeForm":
        return cls(
            initial={
                "type": spec.type.value,
                "options": "\n".join(spec.options),
                "is_multi": spec.is_multi,
                "description": spec.description,
                "unit": spec.unit,
                "base_version": version,
            }
        )


class SchemaImportForm(forms.Form):
    document = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
        label="Schema (JSON)",
        help_text='A list of fields, e.g. [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"], '
        '"is_multi": false, "description": "", "unit": ""}], or an object with a "fields" list (what "Download '
        'the current schema" gives). Visual Layer\'s field_name / field_type / enum_options also work; any '
        'other key is refused.',
    )
    file = forms.FileField(required=False, label="…or upload a .json file")
    keep_descriptions = forms.BooleanField(
        required=False,
        label="Keep the current description of fields the file declares without one",
        help_text="Unticked, a field declared without a \"description\" key loses its description.",
    )
    base_version = AsciiIntegerField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict:
        data = super().clean()
        text = data.get("document") or ""
        upload = data.get("file")
        if upload:
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(SCHEMA_IMPORT_FILE_ENCODING) from None
        if not text.strip():
            raise forms.ValidationError(SCHEMA_IMPORT_EMPTY)
        try:
            data["fields"] = schema_document_fields(text)
        except SchemaError as exc:
            raise forms.ValidationError(exc.message) from None
        data["text"] = text
        return data
