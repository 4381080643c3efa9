"""Mount with `path("tasks/", include("tasks_google.urls"))`; OPTIONS["base_url"] points here."""

from django.urls import path

from tasks_google.config.options import EXECUTE_PATH, SCHEDULE_PATH
from tasks_google.endpoints import views

app_name = "tasks_google"

urlpatterns = [
    path(EXECUTE_PATH, views.execute, name="execute"),
    path(SCHEDULE_PATH, views.schedule, name="schedule"),
]
