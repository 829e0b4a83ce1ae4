from django.contrib import admin

from .models import ChangeSet, Item


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "workspace", "folder", "uid", "updated_at"]
    list_filter = ["kind", "workspace"]
    search_fields = ["title", "uid"]
    raw_id_fields = ["folder", "parent"]
    show_full_result_count = False


@admin.register(ChangeSet)
class ChangeSetAdmin(admin.ModelAdmin):
    list_display = ["pk", "workspace", "operation", "source", "item_count", "user", "created_at", "undone_at"]
    list_filter = ["workspace", "operation"]
    raw_id_fields = ["user", "undone_by", "undo_of"]
