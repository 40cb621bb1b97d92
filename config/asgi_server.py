"""The live-updates process: uvicorn serving config.asgi with the options production runs it with, kept in
one place for `make asgi`, the bench and the tests' live servers.

    python -m config.asgi_server --host 127.0.0.1 --port 8001 [any other uvicorn option]

- `websockets-sansio`: websockets' sans-I/O protocol, no task and no timer per socket (docs/performance.md).
- `--ws-max-size 65536`: a frame larger than this closes the socket (1009) before it is buffered; frames up
  to it reach the app, which answers `too_large` above 4 KiB and keeps the socket (docs/api/live.md).
- `--ws-per-message-deflate false`: frames go uncompressed, also to a client that offers compression. They
  are tens of bytes (`{"type":"sync"}`), which deflate cannot shorten, and each compressed socket keeps a
  zlib state of its own: 53 KiB per socket against 90 with it, and less CPU per poke on both ends.
- `--lifespan off`: Django has no lifespan handlers. `--no-access-log`: Django logs requests itself.
"""

from __future__ import annotations

import sys

OPTIONS = (
    "config.asgi:application",
    "--ws",
    "websockets-sansio",
    "--ws-max-size",
    "65536",
    "--ws-per-message-deflate",
    "false",
    "--lifespan",
    "off",
    "--no-access-log",
    "--timeout-graceful-shutdown",
    "10",
)


def main(argv: list[str]) -> None:
    from uvicorn.main import main as uvicorn

    uvicorn.main(args=[*OPTIONS, *argv], prog_name="uvicorn")


if __name__ == "__main__":
    main(sys.argv[1:])
