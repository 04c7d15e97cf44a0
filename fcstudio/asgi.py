"""ASGI entry point: HTTP through Django, websockets through Channels' routing.

`/v1/` (the recording proxy, `conversations.proxy`) is routed before Django, so that none of
Django's middleware (sessions, CSRF, templates, auth) is on its path."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fcstudio.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ChannelNameRouter, ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from conversations import demo_model_views  # noqa: E402
from conversations.dispatch import RUNS_CHANNEL, RunWorker  # noqa: E402
from conversations.proxy import PathRouter  # noqa: E402
from fcstudio.limits import KB, BodyCap  # noqa: E402
from fcstudio.routing import SameOriginValidator, websocket_urlpatterns  # noqa: E402

# No view takes more than an import (the pages refuse larger ones themselves, saying so where
# the person looks), so twice that is refused before Django reads it; the public demo model
# takes far less (fcstudio.limits.BodyCap). The proxy (/v1/) reads and caps its own bodies.
capped = BodyCap(
    django_asgi_app,
    default=lambda: 2 * (settings.FCSTUDIO_MAX_IMPORT_BYTES + 64 * KB),
    caps={"/demo-model/": demo_model_views.MAX_BODY_BYTES},
    refusals={"/demo-model/": demo_model_views.too_large_body},
)

application = ProtocolTypeRouter(
    {
        "http": PathRouter(capped),
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        "channel": ChannelNameRouter({RUNS_CHANNEL: RunWorker.as_asgi()}),
    }
)
