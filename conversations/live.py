"""Broadcasting a conversation's progress to the browsers watching it.

The runner publishes small JSON events to the channel-layer group of the conversation; the
websocket consumer turns each into HTML fragments. Publishing never fails a run: a missing or
broken channel layer only means nobody watches live (the page still reloads from the database).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


def group_name(conversation_id: int) -> str:
    return f"conv-{conversation_id}"


async def publish(conversation_id: int, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "conversation.event", "sent_at": time.time(), **event}
    try:
        await layer.group_send(group_name(conversation_id), message)
    except Exception:  # a live view is best effort; the record is in the database
        logger.warning(
            "could not publish %s for conversation %s",
            event.get("kind"),
            conversation_id,
            exc_info=True,
        )
