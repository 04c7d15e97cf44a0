"""Celery tasks: conversation runs on workers that may sit on other machines."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from celery import shared_task

from .runner import run_conversation, worker_identity


@shared_task(acks_late=True, reject_on_worker_lost=True, name="conversations.run")
def run_conversation_task(conversation_id: int) -> str:
    return async_to_sync(run_conversation)(conversation_id, worker=worker_identity())
