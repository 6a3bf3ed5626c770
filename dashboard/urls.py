from django.urls import path

from dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.index, name="index"),
    path("courses/<str:slug>/modules.csv", views.table_csv, {"table": "modules"}, name="modules-csv"),
    path("courses/<str:slug>/lenses.csv", views.table_csv, {"table": "lenses"}, name="lenses-csv"),
    path("courses/<str:slug>/scores.csv", views.scores_csv, name="scores-csv"),
    path("courses/<str:slug>/", views.course, name="course"),
    path("learners/user/<int:user_id>/", views.learner, name="learner-user"),
    path("learners/token/<uuid:token>/", views.learner, name="learner-token"),
    path("learners/user/<int:user_id>/export/", views.export, name="export-user"),
    path("learners/token/<uuid:token>/export/", views.export, name="export-token"),
    path("learners/user/<int:user_id>/erase/", views.erase, name="erase-user"),
    path("learners/token/<uuid:token>/erase/", views.erase, name="erase-token"),
]
