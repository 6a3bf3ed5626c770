from django.apps import AppConfig


class RoleplayConfig(AppConfig):
    name = "roleplay"
