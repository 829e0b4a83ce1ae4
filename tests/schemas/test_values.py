"""Text to a typed value means the same on every path: `parse_text` itself, a CSV cell of an import, the bulk
edit's value, the item editor's inputs and a type change of stored text. One table of accepted and refused texts
per type, run through each path. (The explorer's filter values join this table when its parser calls
`parse_text`.)"""

import pytest
from django.http import QueryDict

from metadata_site.items.forms import BulkEditForm, parse_input
from metadata_site.schemas.conversion import convert_value
from metadata_site.schemas.fields import FieldSpec, FieldType, Schema
from metadata_site.schemas.validation import (
    VALUE_NOT_A_BOOLEAN,
    VALUE_NOT_A_NUMBER,
    VALUE_NOT_AN_INTEGER,
    VALUE_NOT_FINITE,
    FieldValueError,
)
from metadata_site.schemas.values import parse_text
from tests.factories import make_folder, make_item, make_schema
from tests.imports.helpers import run_import

DARK = FieldSpec("dark", FieldType.BOOLEAN)
COUNT = FieldSpec("count", FieldType.INTEGER)
TEMPERATURE = FieldSpec("temperature", FieldType.FLOAT)
SPECS = {spec.name: spec for spec in (DARK, COUNT, TEMPERATURE)}

# (field, text, the value it means); every path accepts these with this value.
ACCEPTED = [
    ("dark", "true", True), ("dark", " True ", True), ("dark", "YES", True), ("dark", "y", True),
    ("dark", "on", True), ("dark", "1", True),
    ("dark", "false", False), ("dark", "No", False), ("dark", "n", False), ("dark", "OFF", False),
    ("dark", "0", False),
    ("count", "3", 3), ("count", " -4 ", -4), ("count", "+5", 5), ("count", "3.0", 3), ("count", "1e3", 1000),
    ("count", "12345678901234567890", 12345678901234567890),
    ("temperature", "3", 3.0), ("temperature", "-1.5", -1.5), ("temperature", "2e-3", 0.002),
    ("temperature", ".5", 0.5), ("temperature", " 21.25 ", 21.25),
]
# (field, text, the message); every path refuses these (the message is checked where the path shows it).
REFUSED = [
    ("dark", "maybe", VALUE_NOT_A_BOOLEAN), ("dark", "2", VALUE_NOT_A_BOOLEAN), ("dark", "t", VALUE_NOT_A_BOOLEAN),
    ("count", "3.5", VALUE_NOT_AN_INTEGER), ("count", "abc", VALUE_NOT_AN_INTEGER),
    ("count", "1_000", VALUE_NOT_AN_INTEGER), ("count", "١٢", VALUE_NOT_AN_INTEGER),
    ("count", "0x10", VALUE_NOT_AN_INTEGER), ("count", "1e999", VALUE_NOT_AN_INTEGER),
    ("temperature", "warm", VALUE_NOT_A_NUMBER), ("temperature", "nan", VALUE_NOT_A_NUMBER),
    ("temperature", "inf", VALUE_NOT_A_NUMBER), ("temperature", "1_000", VALUE_NOT_A_NUMBER),
    ("temperature", "١٢", VALUE_NOT_A_NUMBER), ("temperature", "1e999", VALUE_NOT_FINITE),
]
ids = [f"{name}={text.strip()!r}" for name, text, _ in ACCEPTED]
refused_ids = [f"{name}={text!r}" for name, text, _ in REFUSED]


@pytest.mark.parametrize(("name", "text", "value"), ACCEPTED, ids=ids)
def test_parse_text_reads_the_accepted_words(name, text, value):
    parsed = parse_text(SPECS[name], text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(("name", "text", "message"), REFUSED, ids=refused_ids)
def test_parse_text_refuses_the_others_with_the_validators_message(name, text, message):
    with pytest.raises(FieldValueError) as err:
        parse_text(SPECS[name], text)
    assert err.value.message == message


def test_empty_text_is_no_value():
    assert [parse_text(spec, "  ") for spec in SPECS.values()] == [None, None, None]


def _bulk_form(name: str, text: str) -> BulkEditForm:
    data = QueryDict(mutable=True)
    data.update({"field": name, "action": "set", "item": "00000000-0000-0000-0000-000000000001"})
    if name == "dark":
        data.update({"value": "false"})  # the switch's hidden input comes first
    data.update({"value": text})
    form = BulkEditForm(data, schema=Schema(version=1, fields=SPECS))
    form.is_valid()
    return form


@pytest.mark.parametrize(("name", "text", "value"), ACCEPTED, ids=ids)
def test_the_bulk_edit_accepts_the_same_words(name, text, value):
    form = _bulk_form(name, text)
    assert form.errors == {}
    assert form.cleaned_data["json_value"] == value and type(form.cleaned_data["json_value"]) is type(value)


@pytest.mark.parametrize(("name", "text", "message"), REFUSED, ids=refused_ids)
def test_the_bulk_edit_refuses_the_same_words_with_the_same_message(name, text, message):
    assert _bulk_form(name, text).errors == {"value": [message]}


@pytest.mark.parametrize(("name", "text", "value"), [a for a in ACCEPTED if a[0] != "dark"],
                         ids=[i for i in ids if not i.startswith("dark")])
def test_the_item_editor_reads_numbers_the_same_way(name, text, value):
    # Its boolean is a checkbox, not text; a number input's text goes through parse_input.
    parsed = parse_input(SPECS[name], text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(("name", "text", "message"), [r for r in REFUSED if r[0] != "dark"],
                         ids=[i for i in refused_ids if not i.startswith("dark")])
def test_the_item_editor_passes_refused_text_on_for_the_validator(name, text, message):
    assert parse_input(SPECS[name], text) == text.strip()


@pytest.mark.parametrize(("name", "text", "value"), ACCEPTED, ids=ids)
def test_a_type_change_converts_the_same_words(name, text, value):
    assert convert_value(SPECS[name], text) == value


@pytest.mark.parametrize(("name", "text", "message"), REFUSED, ids=refused_ids)
def test_a_type_change_refuses_the_same_words(name, text, message):
    with pytest.raises(FieldValueError):
        convert_value(SPECS[name], text)


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(SPECS))
def test_csv_cells_of_an_import_read_the_same_words(workspace, owner, settings, tmp_path, name):
    settings.MEDIA_ROOT = tmp_path
    make_schema(workspace, [{"name": s.name, "type": s.type.value} for s in SPECS.values()])
    folder = make_folder(workspace, "cells")
    accepted = [(text, value) for n, text, value in ACCEPTED if n == name]
    refused = [(text, message) for n, text, message in REFUSED if n == name]
    texts = [t for t, _ in accepted] + [t for t, _ in refused]
    items = [make_item(folder, f"{i}.jpg") for i in range(len(texts))]
    content = f"title,{name}\n" + "".join(f'{item.title},"{text}"\n' for item, text in zip(items, texts, strict=True))
    task = run_import(workspace, owner, content, "cells.csv", target={"folder": folder.pk})
    for item, (_, value) in zip(items, accepted, strict=False):
        item.refresh_from_db()
        assert item.client_metadata == {name: value} and type(item.client_metadata[name]) is type(value)
    reasons = {e["row_index"]: e["reason"] for e in task.sample_errors}
    for offset, (text, message) in enumerate(refused):
        assert reasons[len(accepted) + offset] == f'{name}: {message} Got "{text}".'
