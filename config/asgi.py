"""The ASGI application: Django's HTTP app and the live-updates WebSocket (`/api/v1/stream`, live/).

`make run` serves it with runserver (daphne's, on ASGI); production runs it under uvicorn beside gunicorn
(`make asgi`, docs/deployment.md)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Django is set up (apps loaded) before anything imports a model.
http_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter({"http": http_application, "websocket": URLRouter(websocket_urlpatterns)})
