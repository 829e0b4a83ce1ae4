from django.contrib import admin

from .models import ImportTask


@admin.register(ImportTask)
class ImportTaskAdmin(admin.ModelAdmin):
    list_display = ["uid", "kind", "workspace", "status", "progress", "inserted_rows", "error_count", "created_at"]
    list_filter = ["kind", "status", "workspace"]
    readonly_fields = ["sample_errors"]
