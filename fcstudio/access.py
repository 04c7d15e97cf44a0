"""Telling a person's open websockets that their access to a team changed.

A socket checks its listener's role (and that the account is active) when it connects. After
that, every change of a Membership (a new role, a removal: from the team page, the admin, or a
cascade when a team or a user is deleted) and every save of a deactivated user is sent, once it
commits, to the channel-layer group every socket of that user joins; each socket then checks
again and closes, or redraws its controls for the new role. The channel layer carries it to
sockets in every process. `QuerySet.update()` sends no signal, so sockets also re-check now and
then on their own (conversations.consumers.ACCESS_RECHECK_S).
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Membership

logger = logging.getLogger(__name__)

ACCESS_CHANGED = "access.changed"
_sending: set[asyncio.Task[None]] = set()  # held until sent: the loop keeps only weak references


def user_group(user_id: int) -> str:
    """The channel-layer group of all of one user's sockets."""
    return f"user-{user_id}"


def notify_access_changed(user_id: int, team_id: int) -> None:
    """Ask the user's sockets on the team to check their access again."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": ACCESS_CHANGED, "team_id": team_id}
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    try:
        if loop is None:
            async_to_sync(layer.group_send)(user_group(user_id), message)
        else:  # saved from code that runs inside an event loop's thread
            task = loop.create_task(layer.group_send(user_group(user_id), message))
            _sending.add(task)
            task.add_done_callback(_sending.discard)
    except Exception:  # sockets still re-check on their own; the change itself is committed
        logger.warning("could not tell user %s's sockets of a role change", user_id, exc_info=True)


def _after_commit(membership: Membership) -> None:
    user_id, team_id = membership.user_id, membership.team_id
    transaction.on_commit(lambda: notify_access_changed(user_id, team_id))


@receiver(post_save, sender=Membership)
def membership_saved(sender: Any, instance: Membership, created: bool, **kwargs: Any) -> None:
    if not created:  # a new member has no socket on the team yet
        _after_commit(instance)


@receiver(post_delete, sender=Membership)
def membership_deleted(sender: Any, instance: Membership, **kwargs: Any) -> None:
    _after_commit(instance)


@receiver(post_save, sender=get_user_model())
def user_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """A deactivated account keeps no socket open on any team."""
    if created or instance.is_active:
        return
    for team_id in Membership.objects.filter(user=instance).values_list("team_id", flat=True):
        transaction.on_commit(partial(notify_access_changed, instance.pk, team_id))
