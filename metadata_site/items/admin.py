from django.contrib import admin

from .models import Item


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "workspace", "folder", "uid", "updated_at"]
    list_filter = ["kind", "workspace"]
    search_fields = ["title", "uid"]
    raw_id_fields = ["folder", "parent"]
    show_full_result_count = False
