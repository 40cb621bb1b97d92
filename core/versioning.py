"""Which version a write was based on (docs/api/versions.md): body `version`, `?version=`, or `If-Match`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rest_framework.request import Request

from core.problems import PreconditionFailed, VersionRequired, validation_error

_ETAG = re.compile(r'^\s*"(\d{1,9})"\s*$')


@dataclass(frozen=True)
class BaseVersion:
    """The client's base. `strict` (If-Match) never merges: any other current version is 412."""

    version: int | None
    strict: bool = False
    accepted: frozenset[int] = frozenset()
    wildcard: bool = False

    def matches(self, current: int) -> bool:
        if self.strict:
            return self.wildcard or current in self.accepted
        return self.version == current


# A write that replaces whatever is stored (an import, a staff edit): it matches every version.
ANY_VERSION = BaseVersion(version=None, strict=True, wildcard=True)


def etag_for(version: int) -> str:
    return f'"{version}"'


def parse_version_value(value: Any, field: str = "version", *, from_query: bool = False) -> int:
    """A base version: a JSON integer (or, in a query string, digits), positive, nothing else."""
    if isinstance(value, bool):
        raise validation_error({field: ["Must be a positive integer."]})
    if from_query and isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    if not isinstance(value, int) or not 1 <= value <= 2_000_000_000:
        raise validation_error({field: ["Must be a positive integer."]})
    return value


def parse_if_match(header: str) -> BaseVersion:
    if header.strip() == "*":
        return BaseVersion(version=None, strict=True, wildcard=True)
    accepted: set[int] = set()
    for part in header.split(","):
        match = _ETAG.match(part)
        if match:
            accepted.add(int(match.group(1)))
        elif not part.strip().startswith('W/"'):
            raise PreconditionFailed('If-Match must hold strong entity tags such as "3".')
    return BaseVersion(version=None, strict=True, accepted=frozenset(accepted))


def base_version_from(request: Request, *, from_body: bool = True, allow_query: bool = False) -> BaseVersion:
    """If-Match wins; otherwise the body's `version` (or `?version=` for DELETE); otherwise 428.

    A body `version` that is present must be a version: `null` is a 400, not "no version"."""
    header = request.headers.get("If-Match")
    if header is not None:
        if allow_query and "version" in request.query_params:
            # Ignored beside If-Match, but never garbage: bad input is a 400 wherever it is.
            parse_version_value(request.query_params["version"], from_query=True)
        return parse_if_match(header)
    body = request.data if from_body else None
    if isinstance(body, dict) and "version" in body:
        return BaseVersion(version=parse_version_value(body["version"]))
    if allow_query and "version" in request.query_params:
        return BaseVersion(version=parse_version_value(request.query_params["version"], from_query=True))
    raise VersionRequired()
