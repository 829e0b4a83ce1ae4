"""Attack class: a regular expression in a custom-data JSON Schema that backtracks catastrophically (ReDoS).

Patterns run on RE2 (linear-time matching); what RE2 cannot run (backreferences, lookaround) is refused when the
schema is saved. The catastrophic cases run in a thread with a generous timeout, so a regression hangs the test
for some seconds and then fails instead of hanging the suite.
"""

import json
import threading

import pytest
from django.urls import reverse

from metadata_site.projects.models import Project
from metadata_site.projects.services import schema_errors
from tests.factories import make_project

EVIL = "^(a+)+$"
ATTACK = "a" * 40 + "!"


def _bounded(fn, *args):
    """fn(*args) in a thread; fails the test if it does not finish within 20 s."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(fn(*args)), daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive(), "validation did not finish: the pattern is backtracking"
    return result[0]


@pytest.fixture
def project(workspace):
    return make_project(workspace, "Roads", custom_data={})


@pytest.mark.parametrize(
    ("schema", "data", "message"),
    [
        ({"properties": {"name": {"pattern": EVIL}}}, {"name": ATTACK}, f"'{ATTACK}' does not match '{EVIL}'"),
        (
            {"patternProperties": {EVIL: {"type": "integer"}}, "additionalProperties": False},
            {ATTACK: 1},
            f"'{ATTACK}' does not match any of the regexes: '{EVIL}'",
        ),
        (
            {"patternProperties": {EVIL: {"type": "integer"}}, "unevaluatedProperties": False},
            {ATTACK: 1},
            f"Unevaluated properties are not allowed ('{ATTACK}' was unexpected)",
        ),
        ({"propertyNames": {"pattern": EVIL}}, {ATTACK: 1}, f"'{ATTACK}' does not match '{EVIL}'"),
    ],
)
def test_a_catastrophic_pattern_completes_with_the_right_outcome(schema, data, message):
    errors = _bounded(schema_errors, schema, data)
    assert [e["msg"] for e in errors] == [message]


def test_a_matching_value_still_passes_the_same_pattern():
    schema = {"properties": {"name": {"pattern": EVIL}}, "patternProperties": {"^x": {"type": "integer"}}}
    assert _bounded(schema_errors, schema, {"name": "a" * 40, "x1": 1}) == []
    assert [e["msg"] for e in _bounded(schema_errors, schema, {"x1": "s"})] == ["'s' is not of type 'integer'"]


def test_a_schema_with_a_catastrophic_pattern_saves_and_refuses_the_attack_through_the_page(project, login, editor):
    client = login(editor)
    schema = {"properties": {"name": {"type": "string", "pattern": EVIL}}}
    response = client.post(
        reverse("projects:project-info-schema", args=["acme", project.pk]), {"text": json.dumps(schema), "base_version": 1}
    )
    assert response.status_code == 302
    response = client.post(
        reverse("projects:project-info-custom-data", args=["acme", project.pk]),
        {"text": json.dumps({"name": ATTACK}), "base_version": 1},
    )
    assert response.status_code == 400
    assert "does not match" in response.content.decode()
    assert Project.objects.get(pk=project.pk).custom_data == {}


@pytest.mark.parametrize(
    ("schema", "pattern"),
    [
        ({"properties": {"name": {"pattern": r"^(a)\1$"}}}, r"^(a)\1$"),
        ({"patternProperties": {"^(?=x)": {}}}, "^(?=x)"),
        ({"$defs": {"d": {"items": {"pattern": "(?<!a)b"}}}}, "(?<!a)b"),
    ],
)
def test_a_pattern_re2_cannot_run_is_refused_at_save_with_a_clear_message(project, login, editor, schema, pattern):
    response = login(editor).post(
        reverse("projects:project-info-schema", args=["acme", project.pk]), {"text": json.dumps(schema), "base_version": 1}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "The regular expression" in html and "cannot be used" in html
    assert "without backreferences or lookaround" in html
    assert Project.objects.get(pk=project.pk).custom_data_schema is None


@pytest.mark.parametrize(
    ("stored", "detail"),
    [
        ({"properties": {"name": {"pattern": r"^(a)\1$"}}}, "The regular expression"),
        ({"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "string"}]}, "draft 2020-12"),
    ],
)
def test_a_schema_stored_before_the_checks_refuses_custom_data_saves_cleanly(project, login, editor, stored, detail):
    Project.objects.filter(pk=project.pk).update(custom_data_schema=stored)
    response = login(editor).post(
        reverse("projects:project-info-custom-data", args=["acme", project.pk]),
        {"text": json.dumps({"name": "aa"}), "base_version": 1},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "The schema cannot be applied" in html and detail in html
    assert Project.objects.get(pk=project.pk).custom_data == {}
