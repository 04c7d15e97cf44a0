"""ASGI entry point: HTTP through Django, websockets through Channels' routing.

`/v1/` (the recording proxy, `conversations.proxy`) is routed before Django, so that none of
Django's middleware (sessions, CSRF, templates, auth) is on its path."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fcstudio.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ChannelNameRouter, ProtocolTypeRouter, URLRouter  # noqa: E402

from conversations.dispatch import RUNS_CHANNEL, RunWorker  # noqa: E402
from conversations.proxy import PathRouter  # noqa: E402
from fcstudio.routing import SameOriginValidator, websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": PathRouter(django_asgi_app),
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        "channel": ChannelNameRouter({RUNS_CHANNEL: RunWorker.as_asgi()}),
    }
)
