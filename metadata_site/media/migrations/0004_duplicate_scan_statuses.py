from django.db import migrations


STATUSES = {"queued": "QUEUED", "running": "RUNNING", "done": "COMPLETED"}


def scans_in_task_shape(apps, schema_editor):
    """The old lower-case states become the statuses of every background task; a scan was created when it was
    last updated (the one date the old row kept)."""
    DuplicateScan = apps.get_model("media", "DuplicateScan")
    for scan in DuplicateScan.objects.all():
        status = STATUSES.get(scan.status, scan.status)
        finished = scan.updated_at if status == "COMPLETED" else None
        DuplicateScan.objects.filter(pk=scan.pk).update(status=status, created_at=scan.updated_at,
                                                        finished_at=finished)


def scans_back(apps, schema_editor):
    DuplicateScan = apps.get_model("media", "DuplicateScan")
    back = {new: old for old, new in STATUSES.items()}
    for scan in DuplicateScan.objects.all():
        DuplicateScan.objects.filter(pk=scan.pk).update(status=back.get(scan.status, "done"))


class Migration(migrations.Migration):
    # Its own migration (its own transaction): on PostgreSQL, updating rows that the schema changes just rewrote
    # leaves pending trigger events, and the schema editor's deferred CREATE INDEX refuses to run after them.
    dependencies = [("media", "0003_background_task_shape")]

    operations = [
        migrations.RunPython(scans_in_task_shape, scans_back),
    ]
