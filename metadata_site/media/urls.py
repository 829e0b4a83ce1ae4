from django.urls import path

from . import views, views_map

app_name = "media"
urlpatterns = [
    path("items/<uuid:uid>/original", views.media_original, name="original"),
    path("items/<uuid:uid>/keyframes/<int:n>", views.media_keyframe, name="keyframe"),
    path("duplicates/", views.duplicates, name="duplicates"),
    path("duplicates/refresh", views.duplicates_refresh, name="duplicates-refresh"),
    path("duplicates/collect", views.duplicates_collect, name="duplicates-collect"),
    path("duplicates/out-of-dataset", views.duplicates_out_of_dataset, name="duplicates-out-of-dataset"),
    path("similar/upload", views.similar_upload, name="similar-upload"),
    path("map/", views_map.map_page, name="map"),
    path("map/points", views_map.map_points, name="map-points"),
    path("map/point", views_map.map_point, name="map-point"),
    path("map/build", views_map.map_build, name="map-build"),
]
