"""fcstudio: the project package. Settings, URLs, ASGI routing, the Celery app, teams and roles."""

from .celery import app as celery_app

__all__ = ["celery_app"]
