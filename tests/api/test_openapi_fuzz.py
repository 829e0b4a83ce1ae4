"""schemathesis against /api/openapi.json, in-process through the WSGI app.

Every operation gets a bounded, derandomized (reproducible) set of generated requests (about 260 in all),
authenticated as the workspace owner with real data behind the path parameters. Checks: no 5xx, the status code is documented,
the response matches its documented schema and content type.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from metadata_site.accounts.services import api_token_create
from metadata_site.wsgi import application
from tests.factories import make_dataset, make_folder, make_item, make_project

CHECKS = [schemathesis.checks.not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


# Only the fuzzing phase, bounded by max_examples below: about 50 operations x 5 examples.
CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {"phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}}}
)
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application, config=CONFIG)


@pytest.fixture
def real_ids(db, owner, workspace) -> dict:
    """Path parameters that name real objects, so requests reach the endpoints' logic, not only 404s."""
    project = make_project(workspace, "Roads", custom_data={"a": 1})
    folder = make_folder(workspace, "raw")
    item = make_item(folder, metadata={"weather": "Sunny"})
    dataset = make_dataset(project, "Roads v1", items=[item])
    return {
        "slug": "acme",
        "project_id": project.pk,
        "dataset_id": dataset.pk,
        "folder_id": folder.pk,
        "item_uid": str(item.uid),
        "image_id": str(item.uid),
    }


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Like Django's test client: the WSGI app must not close the test transaction's connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def owner_token(owner):
    return api_token_create(user=owner, name="fuzz")[1]


@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
def test_the_api_never_fails_and_matches_its_schema(case, owner_token, real_ids):
    if case.path_parameters:
        case.path_parameters = {k: real_ids.get(k, v) for k, v in case.path_parameters.items()}
    case.call_and_validate(headers={"Authorization": f"Bearer {owner_token}"}, checks=CHECKS)
