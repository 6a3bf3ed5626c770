from django.apps import AppConfig


class ContentLoaderConfig(AppConfig):
    name = "content_loader"
