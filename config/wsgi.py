"""The WSGI application gunicorn serves (`make serve`, config/gunicorn.py)."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# The URLconf, and with it every view, serializer and their libraries, is imported now rather than by the
# first request, so that it is among the objects frozen below.
get_resolver().url_patterns  # noqa: B018

# Everything loaded so far lives as long as the process: the collector's full passes skip it from now on
# (config/asgi.py does the same). Unfrozen, a full pass walks all of Django's objects, about 100 ms during
# which the worker's other request threads wait too (docs/performance.md, "Collector pauses").
gc.collect()
gc.freeze()
