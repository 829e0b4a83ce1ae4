import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('imports', '0005_importtask_media_kind'),
        ('workspaces', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField("importtask", "total_rows", "total"),
        migrations.AddField(
            model_name='importtask',
            name='arguments',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='importtask',
            name='done',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name='importtask',
            name='created_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='importtask',
            name='status',
            field=models.CharField(choices=[('INIT', 'Waiting for a file'), ('QUEUED', 'Queued'), ('VALIDATING', 'Validating'), ('VALIDATED', 'Checked, waiting to apply'), ('RUNNING', 'Running'), ('COMPLETED', 'Completed'), ('COMPLETED_WITH_ERRORS', 'Completed with errors'), ('FAILED', 'Failed'), ('CANCELLED', 'Cancelled')], default='INIT', max_length=24),
        ),
        migrations.AlterField(
            model_name='importtask',
            name='workspace',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='workspaces.workspace'),
        ),
    ]
