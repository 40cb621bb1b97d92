"""Who may see and write which space: the one place roles are checked (docs/architecture.md, convention 2;
docs/api/workspaces.md, roles).

A user sees their personal space, as its owner, and the space of every workspace they are a member of,
with their member role there. Memberships live in the workspaces app's member table, which registers
itself (`sync.registry.set_membership`); sync reads it by its `space`, `user` and `role` columns.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import IntegrityError, connection, transaction
from django.db.models import Field, Model, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied

from core.models import User
from sync import registry
from sync.models import Space

VIEWER, EDITOR, ADMIN, OWNER = "viewer", "editor", "admin", "owner"
ROLES = (VIEWER, EDITOR, ADMIN, OWNER)
_RANK = {role: rank for rank, role in enumerate(ROLES)}


def _id(user: User | UUID) -> Any:
    """A user or a user's id (`for_user` is also called with ids)."""
    return user if isinstance(user, UUID) else user.pk


def role_rank(role: str) -> int:
    return _RANK[role]


def at_least(role: str | None, needed: str) -> bool:
    return role is not None and _RANK[role] >= _RANK[needed]


# {user id: personal space id} as read from the database, in this process: a user's personal space never
# changes (it goes only with the user, whose id is never reused), so the integer cursors of API 1.0 and the
# writes of every request need not read it again. Bounded. A space this process made is not kept while
# the transaction that made it is open (`_MADE_UNCOMMITTED`): read back in it, it could still roll back,
# and the id kept would name no space.
_PERSONAL_SPACE_IDS: dict[Any, int] = {}
_PERSONAL_SPACE_IDS_MAX = 50_000
_MADE_UNCOMMITTED: set[Any] = set()


def personal_space(user: User) -> Space:
    """The user's personal space, made on first use (a user made before spaces existed has one from the
    migration; one made since, with the user: accounts.models.UserManager.create_user)."""
    space = Space.objects.filter(user_id=user.pk).first()
    if space is not None:
        if user.pk not in _MADE_UNCOMMITTED:
            if len(_PERSONAL_SPACE_IDS) >= _PERSONAL_SPACE_IDS_MAX:
                _PERSONAL_SPACE_IDS.clear()
            _PERSONAL_SPACE_IDS[user.pk] = space.pk
        return space
    try:
        with transaction.atomic():
            space = Space.objects.create(user_id=user.pk)
    except IntegrityError:  # made meanwhile by a concurrent first write
        return Space.objects.get(user_id=user.pk)
    # Kept from the first read after the commit (at once outside a transaction). If it rolls back, the
    # user stays here until a space made later commits: only their id is not kept meanwhile.
    user_id = user.pk
    _MADE_UNCOMMITTED.add(user_id)
    transaction.on_commit(lambda: _MADE_UNCOMMITTED.discard(user_id))
    return space


def personal_space_id(user: User) -> int:
    cached: int | None = getattr(user, "_daymark_personal_space_id", None)
    if cached is None:
        cached = _PERSONAL_SPACE_IDS.get(user.pk)
    if cached is None:
        cached = personal_space(user).pk
        user._daymark_personal_space_id = cached  # type: ignore[attr-defined]
    return cached


def create_workspace_space(workspace_id: UUID) -> Space:
    return Space.objects.create(workspace_id=workspace_id)


def space_of_workspace(workspace_id: UUID) -> Space | None:
    return Space.objects.filter(workspace_id=workspace_id, retired_at__isnull=True).first()


def retire_space(space_id: int) -> None:
    """The workspace of this space is gone: its space stays, so the feed can name the workspace in the
    tombstone it sends to a cursor that still holds the space."""
    Space.objects.filter(pk=space_id).update(retired_at=timezone.now())


def memberships(user: User | UUID) -> QuerySet[Any]:
    model = registry.membership_model()
    return model._default_manager.filter(user_id=_id(user))


def visible_spaces_sql(
    user: User | UUID, *, distinct: bool = False, roles: bool = False
) -> tuple[str, list[Any]]:
    """The ids of the spaces `user` sees, as the SQL of a one-column query and its parameters (the
    personal space, then the memberships'), written out from the models' names rather than built by the
    ORM: its union of two filtered querysets cost about 1 ms of CPU per call to build and compile, more
    than the database takes to answer it (docs/performance.md). `distinct` for a UNION, else UNION ALL (a
    subquery of IN); `roles` adds the user's role in each space as a second column."""
    owner = Space._meta.get_field("user")
    param = owner.target_field.get_db_prep_value(_id(user), connection, prepared=False)
    role, role_params = (", %s", [OWNER]) if roles else ("", [])
    sql = f"SELECT {_column(Space, 'id')}{role} FROM {_table(Space)} WHERE {_column(Space, 'user')} = %s"
    model = registry.membership_model_or_none()
    if model is None:
        return sql, [*role_params, param]
    role = f", {_column(model, 'role')}" if roles else ""
    member = (
        f"SELECT {_column(model, 'space')}{role} FROM {_table(model)} WHERE {_column(model, 'user')} = %s"
    )
    return f"{sql} UNION{'' if distinct else ' ALL'} {member}", [*role_params, param, param]


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, Field)
    return connection.ops.quote_name(field.column)


def visible_space_ids(user: User | UUID) -> list[int]:
    """The ids of the spaces `user` sees, read now (one query): as values rather than a subquery, so the
    database plans a read of them knowing how many rows each space holds."""
    sql, params = visible_spaces_sql(user, distinct=True)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def visible_spaces_query(user: User | UUID) -> RawSQL:
    """The ids of the spaces `user` sees, as a subquery (`space_id__in=visible_spaces_query(user)`)."""
    # A union, not `user OR pk IN (...)`: PostgreSQL reads an OR of the two by scanning every user's space
    # (sync/feed.py says the same of the feed's state).
    return RawSQL(*visible_spaces_sql(user))


def visible_heads(user: User) -> QuerySet[Space]:
    """The spaces the user sees, in id order, in one query (their counters say whether anything changed)."""
    return Space.objects.filter(pk__in=visible_spaces_query(user)).order_by("pk")


def visible_roles(user: User) -> dict[int, str]:
    """{space id: the user's role there}, the personal space as owner. One query."""
    sql, params = visible_spaces_sql(user, distinct=True, roles=True)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


def role_in(user: User, space_id: int) -> str | None:
    """The user's role in the space: owner of their personal space, their member role in a workspace's,
    None when they cannot see it."""
    if Space.objects.filter(pk=space_id, user_id=user.pk).exists():
        return OWNER
    if registry.membership_model_or_none() is None:
        return None
    return memberships(user).filter(space_id=space_id).values_list("role", flat=True).first()


def require_role(user: User, space_id: int, role: str) -> str:
    """The user's role in the space when it is at least `role`. A space the user cannot see is a 404
    (exactly as an id that does not exist); one they see with a lower role is 403 `permission_denied`.

    Writers call it after locking the space (`ChangeWriter.lock`), so a membership removed meanwhile is
    seen: the removal locks the same space.
    """
    found = role_in(user, space_id)
    if found is None:
        raise Http404
    if not at_least(found, role):
        raise PermissionDenied(f"This needs the {role} role in the workspace; yours is {found}.")
    return found
