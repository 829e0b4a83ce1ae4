from django.urls import path

from . import views

app_name = "items"
urlpatterns = [
    path("items/<uuid:uid>/", views.item_detail, name="item"),
    path("items/<uuid:uid>/thumb.png", views.item_thumbnail, name="thumbnail"),
    path("items/<uuid:uid>/metadata/", views.item_edit_metadata, name="edit-metadata"),
    path("items/<uuid:uid>/metadata/json/", views.item_edit_metadata_json, name="edit-metadata-json"),
    path("items/bulk-edit/", views.item_bulk_edit, name="bulk-edit"),
    path("changes/", views.change_sets, name="changes"),
    path("changes/<int:pk>/", views.change_set_detail, name="change-set"),
    path("changes/<int:pk>/undo/", views.change_set_undo_view, name="undo-change"),
]
