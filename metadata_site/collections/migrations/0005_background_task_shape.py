import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('collections', '0004_membership_indexes'),
        ('workspaces', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField("collectiontask", "error", "failure_reason"),
        migrations.AddField(
            model_name='collectiontask',
            name='arguments',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='collectiontask',
            name='error_count',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='collectiontask',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='collectiontask',
            name='sample_errors',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='collectiontask',
            name='started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='collectiontask',
            name='task_result_id',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name='collectiontask',
            name='created_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='collectiontask',
            name='status',
            field=models.CharField(choices=[('INIT', 'Waiting for a file'), ('QUEUED', 'Queued'), ('VALIDATING', 'Validating'), ('VALIDATED', 'Checked, waiting to apply'), ('RUNNING', 'Running'), ('COMPLETED', 'Completed'), ('COMPLETED_WITH_ERRORS', 'Completed with errors'), ('FAILED', 'Failed'), ('CANCELLED', 'Cancelled')], default='QUEUED', max_length=24),
        ),
        migrations.AlterField(
            model_name='collectiontask',
            name='workspace',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='workspaces.workspace'),
        ),
    ]
