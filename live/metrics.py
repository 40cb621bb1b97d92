"""`daymark_live_sockets` in /metrics: the sockets open now. In prometheus_client's multiprocess mode (the
ASGI process sharing PROMETHEUS_MULTIPROC_DIR with gunicorn) every process's count is summed over the
processes alive."""

from prometheus_client import Gauge

live_sockets = Gauge("daymark_live_sockets", "Live-update WebSockets open now.", multiprocess_mode="livesum")
