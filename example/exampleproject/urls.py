from django.contrib import admin
from django.urls import include, path
from shop import views

urlpatterns = [
    path("", views.home, name="home"),
    path("enqueue/<str:name>/", views.enqueue, name="enqueue"),
    path("api/executions/<str:execution_id>/", views.execution, name="execution"),
    path("cancel/<str:execution_id>/<str:mode>/", views.cancel, name="cancel"),
    path("tasks/", include("tasks_google.urls")),
    path("admin/", admin.site.urls),
]
