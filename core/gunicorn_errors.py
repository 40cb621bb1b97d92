"""gunicorn's own error answers as problem+json (docs/api/errors.md).

gunicorn refuses some requests before Django sees them, and answers them itself with an HTML page: a
request line over `limit_request_line` (414), a header over `limit_request_field_size` or more headers than
`limit_request_fields` (431), a malformed request line, header or chunk (400). config/gunicorn.py installs
`write_problem` in each worker in place of gunicorn's page writer (`gunicorn.util.write_error`, the one
function its workers answer these errors with), so those answers are problem+json like every other.
"""

from __future__ import annotations

import json
import socket
import uuid

from gunicorn import util

from core.problems import PROBLEM_CONTENT_TYPE, problem_body

# Codes for the statuses gunicorn answers itself; any other 4xx is a request it could not read.
CODES = {
    403: "permission_denied",
    414: "uri_too_long",
    431: "header_too_large",
    500: "server_error",
    501: "not_implemented",
}


def write_problem(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """Same signature and framing as gunicorn's `util.write_error`, with a problem body."""
    code = CODES.get(status_int, "parse_error" if status_int < 500 else "server_error")
    request_id = uuid.uuid4().hex
    body = problem_body(status_int, code, mesg or reason, reason)
    body["request_id"] = request_id
    payload = json.dumps(body).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        f"Content-Type: {PROBLEM_CONTENT_TYPE}\r\n"
        f"Content-Length: {len(payload)}\r\n"
        f"X-Request-ID: {request_id}\r\n"
        "\r\n"
    )
    util.write_nonblock(sock, head.encode("latin1") + payload)


def install() -> None:
    util.write_error = write_problem
