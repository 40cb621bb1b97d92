import logging

from core.context import request_id_var, user_id_var


class RequestContextFilter(logging.Filter):
    """Puts the current request id and user id on every record, so every line can be traced."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.user_id = user_id_var.get()
        return True
