from django.urls import path

from live.consumers import StreamConsumer

websocket_urlpatterns = [path("api/v1/stream", StreamConsumer.as_asgi())]
