"""Per-request context (request id, user id) that log lines and problem bodies read."""

from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
user_id_var: ContextVar[str] = ContextVar("user_id", default="-")
# The caller as the audit log records it; set by core.middleware.ClientContextMiddleware.
client_ip_var: ContextVar[str | None] = ContextVar("client_ip", default=None)
user_agent_var: ContextVar[str] = ContextVar("user_agent", default="")
