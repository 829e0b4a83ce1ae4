"""The `schema` (TYPED_FIELDS) and `folder` of the typed projection's and its count store's tests; a test module that
declares its own fixture of either name uses its own."""

import pytest

from metadata_site.schemas.selectors import schema_current
from tests.explorer.helpers import TYPED_FIELDS
from tests.factories import make_folder, make_schema


@pytest.fixture
def schema(workspace):
    make_schema(workspace, TYPED_FIELDS)
    return schema_current(workspace=workspace)


@pytest.fixture
def folder(workspace):
    return make_folder(workspace, "root")
