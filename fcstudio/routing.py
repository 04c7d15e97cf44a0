"""Websocket routes."""

from django.urls import path

from conversations.consumers import ConversationConsumer

websocket_urlpatterns = [
    path(
        "ws/t/<slug:team>/conversations/<int:conversation>/",
        ConversationConsumer.as_asgi(),
    ),
]
