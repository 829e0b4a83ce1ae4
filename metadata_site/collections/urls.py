from django.urls import path

from . import views

app_name = "collections"
urlpatterns = [
    path("collections/", views.collection_list, name="list"),
    path("collections/add/", views.collection_add, name="add-items"),
    path("collections/create-dataset/", views.dataset_create, name="create-dataset"),
    path("collections/tasks/<uuid:uid>/", views.task_detail, name="task"),
    path("collections/<int:pk>/edit/", views.collection_edit, name="edit"),
    path("collections/<int:pk>/delete/", views.collection_delete, name="delete"),
    path("collections/<int:pk>/freeze/", views.collection_freeze, name="freeze"),
    path("collections/<int:pk>/remove-items/", views.collection_remove_items, name="remove-items"),
]
