from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="accounts/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    # Django's LogoutView accepts POST only.
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("my-data/", views.my_data, name="my-data"),
    path("my-data/download/", views.download_my_data, name="my-data-download"),
    path("my-data/delete/", views.delete_my_data, name="my-data-delete"),
]
