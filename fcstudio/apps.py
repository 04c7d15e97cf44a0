from django.apps import AppConfig


class FcstudioConfig(AppConfig):
    name = "fcstudio"
    verbose_name = "Studio and teams"

    def ready(self) -> None:
        from . import access, audit  # noqa: F401  (connect the membership and log-in signals)
