from django.urls import path

from . import views

app_name = "schemas"
urlpatterns = [
    path("schema/", views.schema_page, name="schema"),
]
