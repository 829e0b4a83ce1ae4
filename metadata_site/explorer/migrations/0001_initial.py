import django.db.models.deletion
from django.db import migrations, models

# The function of the statement-level triggers on items_item that keep each workspace's typed projection
# in step with every write, whatever code path makes it (ORM, raw SQL, COPY). explorer.projection creates
# the triggers while some projection is maintained and drops them when none is: even a disabled trigger
# with a transition table makes PostgreSQL copy every row a statement writes.
TRIGGERS = """
CREATE OR REPLACE FUNCTION msx_projection_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r record;
  deleting boolean := TG_OP = 'DELETE';
BEGIN
  FOR r IN EXECUTE format(
    'SELECT p.%I AS sql FROM explorer_projection p WHERE p.maintained '
    'AND p.workspace_id IN (SELECT DISTINCT t.workspace_id FROM %I t)',
    CASE WHEN deleting THEN 'delete_sql' ELSE 'upsert_sql' END,
    CASE WHEN deleting THEN 'old_rows' ELSE 'new_rows' END) LOOP
    EXECUTE r.sql;
  END LOOP;
  RETURN NULL;
END $$;
"""

DROP = """
DROP TRIGGER IF EXISTS msx_projection_insert ON items_item;
DROP TRIGGER IF EXISTS msx_projection_update ON items_item;
DROP TRIGGER IF EXISTS msx_projection_delete ON items_item;
DROP FUNCTION IF EXISTS msx_projection_sync();
"""


def _run(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)  # no placeholders: format() uses %I

    return run


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("items", "0008_item_workspace_no_db_constraint"),
        ("workspaces", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="Projection",
            fields=[
                ("workspace", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name="+", serialize=False, to="workspaces.workspace")),
                ("fingerprint", models.CharField(max_length=40)),
                ("upsert_sql", models.TextField()),
                ("delete_sql", models.TextField()),
                ("maintained", models.BooleanField(default=False)),
                ("ready", models.BooleanField(default=False)),
                ("built_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.RunPython(_run(TRIGGERS), _run(DROP)),
    ]
