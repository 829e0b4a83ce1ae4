from django.db import migrations


def exports_count_in_done(apps, schema_editor):
    """An export's count of items written moves from `inserted_rows` (an import's counter) to `done`."""
    ImportTask = apps.get_model("imports", "ImportTask")
    for task in ImportTask.objects.filter(kind="export").only("pk", "inserted_rows"):
        ImportTask.objects.filter(pk=task.pk).update(done=task.inserted_rows, inserted_rows=0)


def exports_count_back(apps, schema_editor):
    ImportTask = apps.get_model("imports", "ImportTask")
    for task in ImportTask.objects.filter(kind="export").only("pk", "done"):
        ImportTask.objects.filter(pk=task.pk).update(inserted_rows=task.done, done=0)


class Migration(migrations.Migration):
    # Its own migration (its own transaction): on PostgreSQL, updating rows that the schema changes just rewrote
    # leaves pending trigger events, and the schema editor's deferred CREATE INDEX refuses to run after them.
    dependencies = [("imports", "0006_background_task_shape")]

    operations = [
        migrations.RunPython(exports_count_in_done, exports_count_back),
    ]
