from django.contrib import admin

from .models import Collection


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "workspace", "created_by", "created_at"]
    list_filter = ["kind", "workspace"]
    search_fields = ["title"]
