from django.contrib import admin

from .models import Dataset, Folder, InfoRevision, Project


@admin.register(Folder)
class FolderAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "parent", "uid"]
    list_filter = ["workspace"]
    search_fields = ["name", "uid"]
    raw_id_fields = ["parent"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "workspace", "updated_at"]
    list_filter = ["workspace"]
    search_fields = ["name"]


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "workspace", "status", "updated_at"]
    list_filter = ["workspace", "status"]
    search_fields = ["name", "uid"]


@admin.register(InfoRevision)
class InfoRevisionAdmin(admin.ModelAdmin):
    list_display = ["kind", "version", "project", "dataset", "created_by", "created_at"]
    list_filter = ["kind"]
    raw_id_fields = ["project", "dataset"]
