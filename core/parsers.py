"""Request bodies are strict JSON (RFC 8259, UTF-8), parsed by orjson.

The standard library's parser accepts what no client should send and the rest of the stack cannot
handle: lone surrogates (`"\\ud800"`, which the renderer cannot encode when an error message echoes
them), numbers that overflow to `inf` (`1e400`) and nesting deep enough to exhaust the stack. orjson
rejects all three, so each is a 400 `parse_error` before any view sees it. It allows 1024 levels of
nesting, which validators and error rendering walk recursively; no body of this API needs more than
`MAX_DEPTH`, so deeper ones are refused too.
"""

from __future__ import annotations

from typing import IO, Any

import orjson
from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream: IO[Any], media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = orjson.loads(stream.read())
        except orjson.JSONDecodeError as error:
            raise ParseError(f"JSON parse error - {error}") from error
        if _depth_exceeds(data, MAX_DEPTH):
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.")
        return data
