from django.urls import path

from . import views

app_name = "items"
urlpatterns = [
    path("items/<uuid:uid>/", views.item_detail, name="item"),
    path("items/<uuid:uid>/thumb.png", views.item_thumbnail, name="thumbnail"),
]
