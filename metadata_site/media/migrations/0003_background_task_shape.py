import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('media', '0002_duplicate_scan'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField("duplicatescan", "state", "status"),
        migrations.RenameField("duplicatescan", "progress", "done"),
        migrations.AlterModelOptions(
            name='duplicatescan',
            options={'ordering': ['-created_at']},
        ),
        migrations.AddField(
            model_name='duplicatescan',
            name='arguments',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='duplicatescan',
            name='created_at',
            field=models.DateTimeField(auto_now_add=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='duplicatescan',
            name='created_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='duplicatescan',
            name='error_count',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='duplicatescan',
            name='failure_reason',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='duplicatescan',
            name='finished_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='duplicatescan',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='duplicatescan',
            name='sample_errors',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='duplicatescan',
            name='started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='duplicatescan',
            name='task_result_id',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='duplicatescan',
            name='total',
            field=models.PositiveBigIntegerField(default=100),
        ),
        migrations.AlterField(
            model_name='duplicatescan',
            name='done',
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AlterField(
            model_name='duplicatescan',
            name='status',
            field=models.CharField(choices=[('INIT', 'Waiting for a file'), ('QUEUED', 'Queued'), ('VALIDATING', 'Validating'), ('VALIDATED', 'Checked, waiting to apply'), ('RUNNING', 'Running'), ('COMPLETED', 'Completed'), ('COMPLETED_WITH_ERRORS', 'Completed with errors'), ('FAILED', 'Failed'), ('CANCELLED', 'Cancelled')], default='QUEUED', max_length=24),
        ),
    ]
