"""`python bench/db.py create|drop <server-url> <name>`: the benchmark's own PostgreSQL database.
`python bench/db.py clear-cache <redis-url> <prefix>`: removes the benchmark's cache keys."""

from __future__ import annotations

import sys


def main(action: str, url: str, name: str) -> None:
    if action == "clear-cache":
        import redis

        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(match=f"{name}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
        return
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{url}/postgres", autocommit=True) as connection:
        if action == "create":
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        elif action == "drop":
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        else:
            raise SystemExit(f"unknown action {action!r}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
