import metadata_site.lib.uids
from django.db import migrations, models


class Migration(migrations.Migration):
    """New items' uids are version 7 uuids (lib/uids.py). The default lives in Python only, so the database is
    left as it is: SQLite would otherwise copy the whole item table to "alter" a column that does not change."""

    dependencies = [
        ('items', '0013_change_set_batches'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='item',
                    name='uid',
                    field=models.UUIDField(default=metadata_site.lib.uids.uuid7, editable=False, unique=True),
                ),
            ],
        ),
    ]
