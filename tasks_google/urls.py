"""Mount with `path("tasks/", include("tasks_google.urls"))`; OPTIONS["base_url"] points here."""

from django.urls import path

from tasks_google.endpoints import views

app_name = "tasks_google"

urlpatterns = [
    path("execute/", views.execute, name="execute"),
    path("schedule/", views.schedule, name="schedule"),
]
