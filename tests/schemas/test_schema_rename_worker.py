"""A rename run by the real worker process (`manage.py db_worker`, PostgreSQL only: it must reach the test database)."""

import pytest

from metadata_site.items.models import Item
from metadata_site.schemas.models import FieldRenameStatus
from metadata_site.schemas.services import schema_rename_field
from tests.factories import make_folder, make_schema

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_process_moves_the_values_of_a_rename(workspace, owner, real_worker):
    make_schema(workspace, [{"name": "temp", "type": "float"}])
    folder = make_folder(workspace)
    Item.objects.bulk_create([Item(workspace=workspace, folder=folder, title=f"i{k}", client_metadata={"temp": k})
                              for k in range(12_000)])
    rename = schema_rename_field(workspace=workspace, user=owner, name="temp", new_name="temperature")
    rename.refresh_from_db()
    assert (rename.status, rename.done, rename.total) == (FieldRenameStatus.RUNNING, 0, 12_000)
    real_worker("--batch").wait(timeout=120)
    rename.refresh_from_db()
    assert (rename.status, rename.done) == (FieldRenameStatus.COMPLETED, 12_000)
    assert Item.objects.filter(workspace=workspace, client_metadata__has_key="temperature").count() == 12_000
    assert rename.change_set.item_count == 12_000
