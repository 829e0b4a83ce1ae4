from django.urls import path

from . import views

app_name = "items"
urlpatterns = [
    path("items/<uuid:uid>/", views.item_detail, name="item"),
    path("items/<uuid:uid>/thumb.png", views.item_thumbnail, name="thumbnail"),
    path("items/<uuid:uid>/metadata/", views.item_edit_metadata, name="edit-metadata"),
    path("items/<uuid:uid>/metadata/json/", views.item_edit_metadata_json, name="edit-metadata-json"),
]
