"""The ASGI application: Django's HTTP app and the live-updates WebSocket (`/api/v1/stream`, live/).

`make run` serves it with runserver (daphne's, on ASGI); production runs it under uvicorn beside gunicorn
(`make asgi`, docs/deployment.md)."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Django is set up (apps loaded) before anything imports a model.
http_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter({"http": http_application, "websocket": URLRouter(websocket_urlpatterns)})

# Everything imported so far lives as long as the process: the collector's full passes skip it from now on.
# A process holding 1,000 sockets would otherwise walk all of Django's objects again and again, and the
# sockets' messages wait while it does.
gc.freeze()
