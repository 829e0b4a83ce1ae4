"""Forms of the Info tab: the boundary for README, custom data and schema text submitted by the browser."""

from typing import Any

from django import forms

from metadata_site.lib import strictjson
from metadata_site.lib.userinput import AsciiIntegerField


class InfoTextForm(forms.Form):
    """Text plus the version the editor loaded. `overwrite_version` is sent by the conflict box's
    "save mine over it" button: it replaces `base_version` so the user overwrites knowingly."""

    text = forms.CharField(required=False, strip=False, widget=forms.Textarea)
    base_version = AsciiIntegerField(min_value=1)
    overwrite_version = AsciiIntegerField(min_value=1, required=False)

    def base(self) -> int:
        return self.cleaned_data.get("overwrite_version") or self.cleaned_data["base_version"]


class JSONTextForm(InfoTextForm):
    """Custom data: the raw text is parsed strictly; a failure keeps the StrictJSONError for its line/column."""

    json_error: strictjson.StrictJSONError | None = None

    def clean_text(self) -> Any:
        try:
            return strictjson.parse(self.cleaned_data["text"])
        except strictjson.StrictJSONError as exc:
            self.json_error = exc
            raise forms.ValidationError(exc.message, code="invalid_json") from None


class SchemaTextForm(JSONTextForm):
    """The project's custom-data JSON Schema; empty text removes the schema."""

    def clean_text(self) -> Any:
        if not self.cleaned_data["text"].strip():
            return None
        return super().clean_text()
