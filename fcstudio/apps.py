from django.apps import AppConfig


class FcstudioConfig(AppConfig):
    name = "fcstudio"
    verbose_name = "Studio and teams"
