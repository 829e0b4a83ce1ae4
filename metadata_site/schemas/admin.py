from django.contrib import admin

from .models import MetadataSchema


@admin.register(MetadataSchema)
class MetadataSchemaAdmin(admin.ModelAdmin):
    list_display = ["workspace", "version", "note", "created_by", "created_at"]
    list_filter = ["workspace"]
