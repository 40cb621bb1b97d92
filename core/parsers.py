"""Request bodies are strict JSON (RFC 8259, UTF-8), parsed by orjson.

The standard library's parser accepts what no client should send and the rest of the stack cannot
handle: lone surrogates (`"\\ud800"`, which the renderer cannot encode when an error message echoes
them), numbers that overflow to `inf` (`1e400`) and nesting deep enough to exhaust the stack. orjson
rejects all three, so each is a 400 `parse_error` before any view sees it.
"""

from __future__ import annotations

from typing import IO, Any

import orjson
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream: IO[Any], media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return orjson.loads(stream.read())
        except orjson.JSONDecodeError as error:
            raise ParseError(f"JSON parse error - {error}") from error
