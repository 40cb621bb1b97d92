from __future__ import annotations

import decimal
import json
import uuid
from typing import Any

import orjson
from django.utils.functional import Promise
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder


def _default(value: Any) -> Any:
    if isinstance(value, Promise | decimal.Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


class JSONRenderer(renderers.JSONRenderer):
    """UTF-8 JSON through orjson: the same output as DRF's renderer, several times faster."""

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if data is None:
            return b""
        try:
            return orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)
        except orjson.JSONEncodeError:
            # orjson refuses strings that are not valid Unicode (a lone surrogate echoed from input); an
            # answer must still go out, with such characters escaped.
            return json.dumps(data, cls=JSONEncoder, ensure_ascii=True).encode()
