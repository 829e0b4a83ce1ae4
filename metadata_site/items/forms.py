"""Forms for item metadata: the edit form generated from the schema, the raw JSON editor and bulk edit.

The forms only turn HTML input into JSON values (a number input's text into a number, a datetime-local value
plus the viewer's offset into an ISO string, ...). Whether a value fits its field is decided in one place,
`metadata_site.schemas.validation`, through the write service; its messages are shown next to the field.
"""

import json
from typing import Any

from django import forms
from django.utils.html import format_html

from metadata_site.lib import strictjson
from metadata_site.schemas.fields import FieldSpec, FieldType, Schema
from metadata_site.schemas.validation import FieldValueError, validate_value
from metadata_site.schemas.values import FORM_SEPARATOR, parse_boolean, parse_text

from .selection import SELECTION_EMPTY, SelectionForm
from .services import MODE_MERGE, MODE_OVERWRITE

JSON_NOT_AN_OBJECT = "The metadata must be a JSON object, like {\"weather\": \"Sunny\"}."
BULK_FIELD_REQUIRED = "Choose a field."
BULK_VALUE_REQUIRED = "Give a value to set, or choose “remove field”."
BULK_NO_ITEMS = SELECTION_EMPTY  # the one message of an empty selection


def field_input_text(spec: FieldSpec, value: Any) -> Any:
    """What an input of the generated form shows for a stored value."""
    if value is None:
        return [] if spec.is_multi_enum else ""
    if spec.type == FieldType.DATETIME and isinstance(value, str) and value.endswith("Z"):
        return value[:-1]
    if spec.is_multi_enum and isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, bool) and spec.type != FieldType.BOOLEAN:
        return json.dumps(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def parse_input(spec: FieldSpec, text: Any, offset: str = "Z") -> Any:
    """A JSON value from an input's text for `spec` (None: no value), read by `schemas.values.parse_text`.
    Text that does not parse is passed on as it is (stripped), so validation reports it with the field's own
    message; a value that is not text (a checkbox's bool) is passed on unchanged."""
    if not isinstance(text, str) and not (spec.is_multi_enum and isinstance(text, list | tuple)):
        return text
    try:
        return parse_text(spec, text, offset=offset or "Z", separator=FORM_SEPARATOR)
    except FieldValueError:
        return text.strip()


def field_widget(spec: FieldSpec, value: Any, fits: bool = True, *, attrs: dict | None = None) -> forms.Widget:
    """The input for a field of the schema: the one place a declared field becomes a form widget (a number
    input, a checkbox, a datetime-local picker, a URL input, an enum drop-down, multi-enum checkboxes)."""
    attrs = {"data-field": spec.name, **(attrs or {})}
    if not fits and spec.type not in (FieldType.ENUM, FieldType.BOOLEAN):
        # A stored value of another type stays visible and editable as text instead of being blanked.
        return forms.TextInput(attrs=attrs)
    match spec.type:
        case FieldType.FLOAT:
            return forms.NumberInput(attrs={**attrs, "step": "any"})
        case FieldType.INTEGER:
            return forms.NumberInput(attrs={**attrs, "step": "1"})
        case FieldType.BOOLEAN:
            return forms.CheckboxInput(attrs=attrs)
        case FieldType.DATETIME:
            return forms.DateTimeInput(attrs={**attrs, "type": "datetime-local", "step": "1", "data-utc": ""})
        case FieldType.LINK:
            return forms.URLInput(attrs=attrs)
        case FieldType.ENUM:
            choices = [(o, o) for o in spec.options]
            current = value if isinstance(value, list) else [value]
            extra = [(str(v), f"{v} (not an option)") for v in current if v is not None and v not in spec.options]
            if spec.is_multi:
                return forms.CheckboxSelectMultiple(attrs=attrs, choices=choices + extra)
            return forms.Select(attrs=attrs, choices=[("", "—")] + choices + extra)
    if isinstance(value, str) and len(value) > 120:
        return forms.Textarea(attrs={**attrs, "rows": 3})
    return forms.TextInput(attrs=attrs)


class MetadataFieldsForm(forms.Form):
    """The edit form generated from the schema: one input per declared field.

    `patch()` is a merge patch of the fields whose input changed (an emptied input removes the key), so a
    stored value the form cannot show, or one that does not fit its field, is never rewritten by accident.
    """

    def __init__(self, *args, schema: Schema, metadata: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.schema = schema
        self.metadata = metadata
        self.names: dict[str, str] = {}  # form field name → metadata key
        for index, spec in enumerate(schema):
            value = metadata.get(spec.name)
            try:
                fits = value is None or validate_value(spec, value) is not None
            except FieldValueError:
                fits = False
            name = f"f{index}"
            self.names[name] = spec.name
            field_class = forms.BooleanField if spec.type == FieldType.BOOLEAN else forms.Field
            self.fields[name] = field_class(
                label=spec.name,
                required=False,
                widget=field_widget(spec, value, fits),
                help_text=spec.description,
                initial=(value is True) if spec.type == FieldType.BOOLEAN else field_input_text(spec, value),
            )
            self.fields[name].spec = spec
            self.fields[name].fits = fits
            self.fields[name].stored = value
            if spec.type == FieldType.DATETIME:
                self.fields[f"tz{index}"] = forms.CharField(
                    required=False, initial="Z", widget=forms.HiddenInput(attrs={"data-tz-for": f"id_{name}"})
                )

    def field_for_key(self, key: str) -> str | None:
        return next((name for name, k in self.names.items() if k == key), None)

    def patch(self) -> dict:
        patch: dict = {}
        for name, key in self.names.items():
            spec = self.fields[name].spec
            stored = self.metadata.get(key)
            raw = self.cleaned_data.get(name)
            if spec.type == FieldType.BOOLEAN:
                # An unchecked box on an item without a value leaves it without one.
                if stored is None and not raw:
                    continue
                new = bool(raw)
            else:
                offset = self.cleaned_data.get(name.replace("f", "tz", 1)) or "Z"
                new = parse_input(spec, raw, offset)
                if new == field_input_text(spec, stored) or (new is None and stored in (None, [])):
                    continue
                if spec.is_multi_enum and isinstance(new, list) and isinstance(stored, list):
                    if sorted(new) == sorted(map(str, stored)) and len(new) == len(stored):
                        continue
                if spec.type == FieldType.DATETIME and stored is not None and new is not None:
                    try:
                        if validate_value(spec, new) == stored:
                            continue
                    except FieldValueError:
                        pass
            if new != stored or type(new) is not type(stored):
                patch[key] = new
        return patch


class MetadataJsonForm(forms.Form):
    metadata = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "aria-label": "Metadata as JSON"}),
        required=False,
    )
    mode = forms.ChoiceField(
        choices=[(MODE_MERGE, "Merge: set these keys, keep the others (null removes a key)"),
                 (MODE_OVERWRITE, "Overwrite: replace all metadata with this object")],
        initial=MODE_MERGE,
        widget=forms.RadioSelect,
    )

    def clean_metadata(self) -> dict:
        text = self.cleaned_data["metadata"].strip() or "{}"
        try:
            value = strictjson.loads(text)  # the rules of every JSON a user writes
        except strictjson.StrictJSONError as exc:
            raise forms.ValidationError(exc.message) from None
        if not isinstance(value, dict):
            raise forms.ValidationError(JSON_NOT_AN_OBJECT)
        return value


BULK_VALUE_ID = "id_bulk_value"


def _is_true(text: str) -> bool:
    try:
        return parse_boolean(text)
    except FieldValueError:
        return False


def bulk_value_input(spec: FieldSpec | None, value: Any = None, *, offset: str = "Z", utc: bool = True) -> str:
    """The HTML of the bulk edit's value input for `spec` (`field_widget`, the item editor's own inputs), named
    "value": a drop-down for an enum, checkboxes for a multi enum, a switch for a boolean (after a hidden
    "false", so an unticked switch still sends a value), a datetime picker with its hidden offset ("tz"), a
    number input. Without a field: a text input. `value` is what the input shows; `utc`: a datetime `value`
    is in UTC (the script shows it in the viewer's time zone), else it is the viewer's text, shown as it is."""
    attrs = {"id": BULK_VALUE_ID}
    if spec is None:
        return forms.TextInput(attrs={**attrs, "placeholder": "value", "aria-label": "Value"}).render("value", value)
    attrs["aria-label"] = f"Value of {spec.name}"
    widget = field_widget(spec, value, attrs=attrs)
    if spec.type == FieldType.BOOLEAN:
        widget.attrs.update(value="true", role="switch")
        return format_html(
            '<input type="hidden" name="value" value="false"><label class="switch plain">{} true</label>',
            widget.render("value", value is True),
        )
    if spec.type == FieldType.DATETIME:
        if not utc:
            widget.attrs.pop("data-utc", None)
        tz = forms.HiddenInput(attrs={"data-tz-for": BULK_VALUE_ID}).render("tz", offset)
        return format_html("{}{}", widget.render("value", value), tz)
    return widget.render("value", value)


class BulkEditForm(forms.Form):
    """ "set field = value" / "remove field" for a selection of items (uids, a whole folder, or an explorer
    selection), read by `SelectionForm` into ``cleaned_data["selected"]``. The value arrives from the chosen
    field's own input (`bulk_value_input`), or as text."""

    ACTION_SET = "set"
    ACTION_REMOVE = "remove"
    # The inputs of the form itself; every other posted parameter describes the selection and is carried on.
    OWN_PARAMETERS = ("field", "action", "value", "tz", "apply", "next", "csrfmiddlewaretoken")

    field = forms.ChoiceField(label="Field")
    action = forms.ChoiceField(
        choices=[(ACTION_SET, "set to"), (ACTION_REMOVE, "remove field")], initial=ACTION_SET, label="Action"
    )
    value = forms.CharField(required=False, label="Value")
    tz = forms.CharField(required=False)

    def __init__(self, *args, schema: Schema, **kwargs):
        super().__init__(*args, **kwargs)
        self.schema = schema
        self.fields["field"].choices = [("", "—")] + [(s.name, s.name) for s in schema]
        self.fields["field"].error_messages["required"] = BULK_FIELD_REQUIRED

    def _values(self) -> list[str]:
        return self.data.getlist("value") if hasattr(self.data, "getlist") else [self.data.get("value", "")]

    def value_input_field(self) -> str:
        """The declared field `value_input` renders its input for ("" for the plain text input): the page script
        swaps in the chosen field's own input when it differs (a choice made before the script ran)."""
        spec = self.schema.get(self.data.get("field") or "") if self.is_bound else None
        return spec.name if spec is not None else ""

    def value_input(self) -> str:
        """The value input as the user left it: the chosen field's own input showing what was posted."""
        spec = self.schema.get(self.data.get("field") or "") if self.is_bound else None
        values = self._values() if self.is_bound else []
        if spec is not None and spec.is_multi_enum:
            shown: Any = [p.strip() for v in values for p in v.split(",") if p.strip()]
        elif spec is not None and spec.type == FieldType.BOOLEAN:
            shown = bool(values) and _is_true(values[-1])
        else:
            shown = values[-1] if values else None
        return bulk_value_input(spec, shown, offset=self.data.get("tz") or "Z" if self.is_bound else "Z", utc=False)

    def text_input(self) -> str:
        return bulk_value_input(None)

    def value_inputs(self) -> list[tuple[str, str]]:
        """(field name, value input) for every declared field, for the page to swap in when the field changes."""
        return [(spec.name, bulk_value_input(spec)) for spec in self.schema]

    def clean(self) -> dict:
        data = super().clean()
        spec = self.schema.get(data.get("field") or "")
        if spec is None:
            return data
        data["spec"] = spec
        selection = SelectionForm(self.data)
        if not selection.is_valid():
            raise forms.ValidationError(selection.error_message())
        data["selected"] = selection.value
        if data.get("action") == self.ACTION_SET:
            values = self._values()
            # A multi enum's checkboxes (or typed text, comma-separated) give several values; any other input
            # gives one (the boolean switch sends "false" then, when ticked, "true": the last one counts).
            raw = FORM_SEPARATOR.join(values) if spec.is_multi_enum else (values[-1] if values else "")
            try:
                value = parse_text(spec, raw, offset=data.get("tz") or "Z", separator=FORM_SEPARATOR)
            except FieldValueError as exc:
                self.add_error("value", exc.message)
                return data
            if value is None:
                self.add_error("value", BULK_VALUE_REQUIRED)
                return data
            try:
                data["json_value"] = validate_value(spec, value)
            except FieldValueError as exc:
                self.add_error("value", exc.message)
        return data
