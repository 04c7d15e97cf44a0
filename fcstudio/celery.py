"""The Celery app: workers that run conversations when FCSTUDIO_DISPATCH=celery."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fcstudio.settings")

app = Celery("fcstudio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
