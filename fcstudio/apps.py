from django.apps import AppConfig


class FcstudioConfig(AppConfig):
    name = "fcstudio"
    verbose_name = "Studio and teams"

    def ready(self) -> None:
        from . import access  # noqa: F401  (connects the membership signals)
