"""What the socket reads from the database: each call one or two queries, run by `in_thread`."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from channels.db import database_sync_to_async
from django.db.models import Exists, Q

from accounts.models import User
from sync import registry
from sync.models import Space

P = ParamSpec("P")
R = TypeVar("R")

# The sockets' reads run in threads of their own, several at once, not in the one thread that Django's
# synchronous code shares under ASGI (asgiref's thread-sensitive executor): 1,000 sockets opening at once
# queued their ticket, token and membership reads behind each other there. Each call is self-contained
# (no transaction, no state kept between calls) and returns its connection when it ends (channels'
# database_sync_to_async closes it: with the psycopg pool it goes back to the pool), so at most THREADS
# connections of the pool serve the sockets, beside the shared thread's one for HTTP requests.
THREADS = 3
_executor = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="live-db")


def in_thread(func: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    runner: Callable[P, Coroutine[Any, Any, R]] = database_sync_to_async(
        func, thread_sensitive=False, executor=_executor
    )
    return runner


def socket_spaces(user_id: Any) -> tuple[int | None, dict[int, str]] | None:
    """The user's personal space and {space id: workspace id} of the workspaces they are a member of now;
    None when the user is gone or deactivated (their socket closes). One query (one snapshot), a second
    only when it finds no space at all."""
    active = User.objects.filter(pk=user_id, is_active=True)
    mine = Q(user_id=user_id)
    model = registry.membership_model_or_none()
    if model is not None:
        mine |= Q(pk__in=model._default_manager.filter(user_id=user_id).values("space_id"))
    rows = list(Space.objects.filter(mine).filter(Exists(active)).values_list("id", "workspace_id"))
    if not rows and not active.exists():
        return None
    personal = next((space_id for space_id, workspace_id in rows if workspace_id is None), None)
    workspaces = {space_id: str(workspace_id) for space_id, workspace_id in rows if workspace_id is not None}
    return personal, workspaces


def list_in_space(list_id: str, space_id: int) -> bool:
    return registry.require("list").model._default_manager.filter(pk=list_id, space_id=space_id).exists()


def item_space(item_id: str) -> int | None:
    items = registry.require("item").model._default_manager
    found: int | None = items.filter(pk=item_id).values_list("space_id", flat=True).first()
    return found


def workspace_of(space_id: int) -> str | None:
    found = Space.objects.filter(pk=space_id).values_list("workspace_id", flat=True).first()
    return str(found) if found else None
