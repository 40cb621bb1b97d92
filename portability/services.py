"""Export and import of everything a user owns (`user/export` and `user/import`, docs/api/export-import.md).

The document format is fixed here; the entities in it are read and written through the sync registry, so
an import goes through the same services (and change records) as every other write. An import is
validated whole before anything changes, and runs in one transaction: all or nothing.

`merge` treats an entity of the document that the user already has (the same id, or for a focus card the
same date) as that entity: the newer side wins by `updated_at`, so importing one's own export changes
nothing, and an older backup never overwrites later edits.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from django.core.cache import cache
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import APIException
from rest_framework.exceptions import ValidationError as DRFValidationError

from accounts.audit import audit_record, audit_user_action
from accounts.models import AuditEvent, Profile, User
from accounts.profile_services import profile_update
from core.problems import RateLimited, validation_error
from core.renderers import JSONRenderer
from core.versioning import ANY_VERSION
from sync import registry
from sync.fields import SERVER_FIELDS
from sync.models import Space
from sync.services import held_spaces, lock_spaces
from sync.spaces import EDITOR, at_least, personal_space_id, visible_roles, visible_space_ids
from workspaces.models import Member

logger = logging.getLogger("daymark.portability")

FORMAT = "daymark-export"
FORMAT_VERSION = 1

# The document's sections, their order and what refers to what come from the sync registry: each type
# with an `export_section` is one (sync.registry.export_types, references). Server fields
# (sync.fields.SERVER_FIELDS) are kept in an export for the reader, never imported (the server sets
# them); `updated_at` decides which side of a merge is newer.

# The document's list of the exporter's workspaces (`{id, name, role}`): what its lists' `workspace` name.
# Not imported: membership is given by invitations, never taken by a document.
WORKSPACES = "workspaces"

# Sections whose entities are unique per user by a field: in `merge` mode, a document entity with the
# value of one the user has is that entity (a focus card of a day that already has one).
NATURAL_KEYS: dict[str, str] = {"focus_cards": "date"}


def sections() -> list[tuple[str, registry.SyncType]]:
    """The sections of the document in dependency order, with the type each holds."""
    return [(str(sync_type.export_section), sync_type) for sync_type in registry.export_types()]


def section_references() -> dict[str, dict[str, str]]:
    """Fields that name other entities of the document: section -> field -> referenced section. A list's
    `workspace` names no section: the importer's own workspaces decide where such a list goes."""
    section_of = {sync_type.name: section for section, sync_type in sections()}
    return {
        section: {
            field: section_of[target]
            for field, target in registry.references(sync_type).items()
            if target in section_of
        }
        for section, sync_type in sections()
    }


def _profile_type() -> registry.SyncType:
    return registry.require(Profile.sync_type)


# The lock of a running export; it outlives a worker killed in mid-export by this long at most.
EXPORT_LOCK_SECONDS = 15 * 60
# Bytes gathered before a piece of the document is handed to the server.
EXPORT_PIECE_BYTES = 64 * 1024
ENTITIES_PER_QUERY = 500
# Retry-After of a refused export.
EXPORT_RETRY_SECONDS = 10


class ExportInProgress(RateLimited):
    default_detail = "An export of this account is already running; retry when it has finished."


class ExportStream:
    """The `daymark-export` document as pieces of JSON, written while the entities are read (never the
    whole document in memory). Holds the user's export lock until it is closed, which the server does
    once the answer is sent or the client has gone."""

    def __init__(self, user: User, lock_key: str | None) -> None:
        self._pieces = _buffered(_document_pieces(user))
        self._lock_key = lock_key

    def __iter__(self) -> ExportStream:
        return self

    def __next__(self) -> bytes:
        return next(self._pieces)

    def close(self) -> None:
        self._pieces.close()
        if self._lock_key is not None:
            _release(self._lock_key)
            self._lock_key = None


def account_export(*, user: User, by_staff: User | None = None) -> ExportStream:
    """Everything `user` owns, streamed. One export at a time per user: another one while this one
    streams is refused with ExportInProgress (429 `rate_limited`). `by_staff`: exported from the back
    office (a data-access request), audited with the staff member who exported it."""
    lock_key = f"export:{user.pk}"
    if not _acquire(lock_key):
        raise ExportInProgress(wait=EXPORT_RETRY_SECONDS)
    if by_staff is None:
        audit_record(event=AuditEvent.Event.DATA_EXPORTED, user=user)
    else:
        audit_user_action(event=AuditEvent.Event.DATA_EXPORTED, by=by_staff, target=user, by_staff=True)
    return ExportStream(user, lock_key)


def _acquire(key: str) -> bool:
    try:
        return bool(cache.add(key, 1, timeout=EXPORT_LOCK_SECONDS))
    except Exception:  # the cache is down: export without the limit rather than not at all
        logger.warning("Cache unavailable; export not limited to one at a time")
        return True


def _release(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:  # the lock expires by itself
        logger.warning("Cache unavailable; the export lock expires by itself")


def _document_pieces(user: User) -> Generator[bytes]:
    """The bytes of the document, piece by piece: the same bytes as rendering it whole (the renderer's
    compact JSON, members in this order)."""
    render = JSONRenderer().render
    head = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": timezone.now().isoformat().replace("+00:00", "Z"),
        "profile": _export_profile(user),
    }
    yield render(head)[:-1]  # the object stays open for the sections
    yield b"," + render(WORKSPACES) + b":" + render(_export_workspaces(user))
    for section, sync_type in sections():
        yield b"," + render(section) + b":["
        # Everything the user sees: their personal data and their workspaces' lists and items (each list
        # names its `workspace`).
        queryset = sync_type.model.objects.for_user(user).order_by("created_at", "id")
        for index, entity in enumerate(queryset.iterator(chunk_size=ENTITIES_PER_QUERY)):
            yield (b"," if index else b"") + render(_without_version(sync_type.to_data(entity)))
        yield b"]"
    yield b"}"


def _buffered(pieces: Iterator[bytes]) -> Generator[bytes]:
    buffer: list[bytes] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= EXPORT_PIECE_BYTES:
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)


def _without_version(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key != "version"}


def _export_workspaces(user: User) -> list[dict[str, Any]]:
    """The workspaces the user belongs to, with their role there (what the document's lists name)."""
    members = Member.objects.filter(user=user).select_related("workspace").order_by("joined_at", "pk")
    return [
        {"id": str(member.workspace_id), "name": member.workspace.name, "role": member.role}
        for member in members
    ]


def _export_profile(user: User) -> dict[str, Any]:
    sync_type = _profile_type()
    profile = sync_type.model.objects.filter(user=user).first()
    data = sync_type.to_data(profile) if profile else {}
    result = {"display_name": user.display_name, "timezone": user.timezone}
    result.update({key: data[key] for key in ("preferences", "onboarding") if key in data})
    return result


@dataclass
class PlannedEntity:
    entity_id: uuid.UUID
    data: dict[str, Any]
    updated_at: datetime | None  # the document's: when this side of a merge last changed


@dataclass
class ImportPlan:
    """A validated document: entities per section with their final ids and remapped references."""

    profile: dict[str, Any] | None = None
    sections: dict[str, list[PlannedEntity]] = field(default_factory=dict)
    replaced_ids: dict[str, str] = field(default_factory=dict)


class ImportErrors:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, where: str, message: str) -> None:
        self.errors.setdefault(where, []).append(message)

    def add_detail(self, where: str, detail: Any) -> None:
        """Flattens DRF error details into `where.field` keys."""
        if isinstance(detail, dict):
            for key, value in detail.items():
                self.add_detail(f"{where}.{key}" if key != "non_field_errors" else where, value)
        elif isinstance(detail, list) and detail and all(isinstance(d, str) for d in detail):
            for message in detail:
                self.add(where, str(message))
        elif isinstance(detail, list):
            for index, value in enumerate(detail):
                self.add_detail(f"{where}[{index}]", value)
        else:
            self.add(where, str(detail))

    def raise_if_any(self) -> None:
        if self.errors:
            raise validation_error(self.errors)


def _entities(
    document: dict[str, Any], section: str, errors: ImportErrors
) -> Iterator[tuple[int, dict[str, Any]]]:
    entities = document.get(section, [])
    if not isinstance(entities, list):
        errors.add(section, "Must be a list.")
        return
    for index, entity in enumerate(entities):
        if not isinstance(entity, dict):
            errors.add(f"{section}[{index}]", "Must be an object.")
            continue
        yield index, entity


def plan_import(*, user: User, document: Any, mode: str) -> ImportPlan:
    """Validates the whole document and decides every id; raises a 400 naming each error's place."""
    errors = ImportErrors()
    if not isinstance(document, dict):
        raise validation_error({"document": ["Must be an object."]})
    if document.get("format") != FORMAT:
        errors.add("document.format", f"Must be {FORMAT!r}.")
    version = document.get("format_version")
    if isinstance(version, bool) or version != FORMAT_VERSION:  # `true == 1` in Python, not in JSON
        errors.add("document.format_version", f"Must be {FORMAT_VERSION}.")
    known = {"format", "format_version", "exported_at", "profile", WORKSPACES, *(s for s, _ in sections())}
    for key in document:
        if key not in known:
            errors.add(f"document.{key}", "Unknown field.")
    errors.raise_if_any()

    _check_workspaces(document.get(WORKSPACES, []), errors)
    plan = ImportPlan(profile=_plan_profile(document.get("profile"), errors))
    own_ids: dict[str, set[uuid.UUID]] = {}
    references = section_references()
    for section, sync_type in sections():
        rows = list(_entities(document, section, errors))
        plan.sections[section] = _plan_section(section, sync_type, references, rows, own_ids, errors)
    errors.raise_if_any()
    _assign_ids(user, plan, mode)
    _place_lists(user, plan)
    return plan


def _check_workspaces(workspaces: Any, errors: ImportErrors) -> None:
    """The document's `workspaces`, informational: a list of objects with a UUID `id`."""
    if not isinstance(workspaces, list):
        errors.add(WORKSPACES, "Must be a list.")
        return
    for index, workspace in enumerate(workspaces):
        where = f"{WORKSPACES}[{index}]"
        if not isinstance(workspace, dict):
            errors.add(where, "Must be an object.")
            continue
        try:
            uuid.UUID(str(workspace.get("id")))
        except ValueError:
            errors.add(f"{where}.id", "A UUID is required.")


def _place_lists(user: User, plan: ImportPlan) -> None:
    """A list of a workspace where the importer is at least editor goes there; any other list of a
    workspace (one they only view, or are not in) becomes one of their personal lists."""
    editable = set(
        Space.objects.filter(
            pk__in=[space for space, role in visible_roles(user).items() if at_least(role, EDITOR)]
        )
        .exclude(workspace_id=None)
        .values_list("workspace_id", flat=True)
    )
    placed: dict[uuid.UUID, uuid.UUID | None] = {}
    for entity in plan.sections.get("lists", []):
        workspace = entity.data.get("workspace")
        if workspace is not None and workspace not in editable:
            entity.data["workspace"] = workspace = None
        placed[entity.entity_id] = workspace
    # An assignee who cannot see where the item lands (another account's id in a personal list, someone
    # not in the workspace) is dropped: the item comes unassigned.
    members = set(
        Member.objects.filter(workspace_id__in={w for w in placed.values() if w is not None}).values_list(
            "workspace_id", "user_id"
        )
    )
    for entity in plan.sections.get("items", []):
        assignee = entity.data.get("assignee")
        if assignee is None:
            continue
        workspace = placed.get(_refs(entity.data["list"])[0]) if entity.data.get("list") else None
        sees = assignee == user.pk if workspace is None else (workspace, assignee) in members
        if not sees:
            entity.data["assignee"] = None


def _plan_profile(profile: Any, errors: ImportErrors) -> dict[str, Any] | None:
    """The profile validated like a PATCH of `user/profile` (an unknown time zone or preference would
    otherwise be written as it is, and break every later "today")."""
    if profile is None:
        return None
    if not isinstance(profile, dict):
        errors.add("document.profile", "Must be an object.")
        return None
    serializer = _profile_type().serializer(data=profile, partial=True)
    if not serializer.is_valid():
        errors.add_detail("profile", serializer.errors)
        return None
    return {key: value for key, value in serializer.validated_data.items() if key in Profile.sync_fields}


def _plan_section(
    section: str,
    sync_type: registry.SyncType,
    references: dict[str, dict[str, str]],
    rows: list[tuple[int, dict[str, Any]]],
    own_ids: dict[str, set[uuid.UUID]],
    errors: ImportErrors,
) -> list[PlannedEntity]:
    planned: list[PlannedEntity] = []
    ids: set[uuid.UUID] = set()
    natural_key = NATURAL_KEYS.get(section)
    natural_values: set[Any] = set()
    for index, raw in rows:
        where = f"{section}[{index}]"
        data = {key: value for key, value in raw.items() if key not in SERVER_FIELDS}
        try:
            entity_id = uuid.UUID(str(data.pop("id")))
        except (KeyError, ValueError):
            errors.add(f"{where}.id", "A UUID is required.")
            continue
        if entity_id in ids:
            errors.add(f"{where}.id", "Appears twice in this section.")
            continue
        ids.add(entity_id)
        updated_at = _updated_at(raw.get("updated_at"), f"{where}.updated_at", errors)
        serializer = sync_type.serializer(data=data)
        if not serializer.is_valid():
            errors.add_detail(where, serializer.errors)
            continue
        validated = dict(serializer.validated_data)
        for name in sync_type.import_server_fields:
            if raw.get(name) is None:
                continue
            try:
                validated[name] = cast(Any, serializer).fields[name].to_internal_value(raw[name])
            except DRFValidationError as error:
                errors.add_detail(f"{where}.{name}", error.detail)
        if natural_key is not None:
            if validated.get(natural_key) in natural_values:
                errors.add(f"{where}.{natural_key}", "Another entity of this section has the same value.")
            natural_values.add(validated.get(natural_key))
        for ref_field, target in references[section].items():
            for ref in _refs(validated.get(ref_field)):
                if ref not in own_ids.get(target, set()):
                    errors.add(
                        f"{where}.{ref_field}", f"Names {ref}, which is not in `{target}` of this document."
                    )
        planned.append(PlannedEntity(entity_id, validated, updated_at))
    own_ids[section] = ids
    return planned


def _updated_at(value: Any, where: str, errors: ImportErrors) -> datetime | None:
    """The document's `updated_at` of an entity: absent, or an RFC 3339 time with an offset."""
    if value is None:
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None or parsed.tzinfo is None:
        errors.add(where, "Must be an RFC 3339 time such as 2026-11-23T08:15:30.123456Z.")
        return None
    return parsed


def _refs(value: Any) -> list[uuid.UUID]:
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [v.pk if hasattr(v, "pk") else uuid.UUID(str(v)) for v in values]


def _assign_ids(user: User, plan: ImportPlan, mode: str) -> None:
    """Ids that are free, or the user's own, are kept; ids taken by another user get new ids. In `merge`
    mode, an entity with the natural key of one of the user's (a card of a day that has one) takes that
    entity's id. Every reference follows."""
    mapping: dict[uuid.UUID, uuid.UUID] = {}
    for section, sync_type in sections():
        entities = plan.sections[section]
        rows = sync_type.model.objects
        natural_key = NATURAL_KEYS.get(section)
        if mode == "merge" and natural_key is not None:
            values = [entity.data[natural_key] for entity in entities if natural_key in entity.data]
            same_key = rows.filter(user=user, **{f"{natural_key}__in": values})
            local = dict(same_key.values_list(natural_key, "pk"))
            for entity in entities:
                local_id = local.get(entity.data.get(natural_key))
                if local_id is not None and local_id != entity.entity_id:
                    mapping[entity.entity_id] = local_id
        wanted = [entity.entity_id for entity in entities if entity.entity_id not in mapping]
        taken = rows.filter(pk__in=wanted).exclude(space_id__in=visible_space_ids(user))
        for entity_id in taken.values_list("pk", flat=True):
            mapping[entity_id] = uuid.uuid4()
    plan.replaced_ids = {str(old): str(new) for old, new in mapping.items()}
    references = section_references()
    for section, entities in plan.sections.items():
        for entity in entities:
            for ref_field in references[section]:
                if ref_field in entity.data:
                    entity.data[ref_field] = _remap(entity.data[ref_field], mapping)
            entity.entity_id = mapping.get(entity.entity_id, entity.entity_id)


def _remap(value: Any, mapping: dict[uuid.UUID, uuid.UUID]) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return [mapping.get(ref, ref) for ref in _refs(value)]
    ref = _refs(value)[0]
    return mapping.get(ref, ref)


def account_import(*, user: User, document: Any, mode: str) -> dict[str, Any]:
    if mode not in ("merge", "replace"):
        raise validation_error({"mode": ["Must be 'merge' or 'replace'."]})
    counts: dict[str, int] = {}
    kept: dict[str, int] = {}
    with held_spaces():
        # One import at a time per user: a second waits here until the first commits, then plans against
        # what the first left (concurrent replace imports deleted each other's entities: 404).
        # With it, the workspaces the import may write, in one go and so in space-id order: a workspace
        # older than the account has the lower id, and locked when the first list of it is imported, after
        # the personal space, it could deadlock with a member's write there. That is every workspace the
        # user is in: lists and items where they are editor, and their membership when the document
        # renames the profile.
        lock_spaces(personal_space_id(user), *visible_roles(user))
        plan = plan_import(user=user, document=document, mode=mode)
        if mode == "replace":
            _remove_owned(user)
        if plan.profile:
            profile_update(user=user, base=ANY_VERSION, data=plan.profile)
        for section, sync_type in sections():
            entities = plan.sections.get(section, [])
            local = _local_versions(user, sync_type, entities)
            counts[section] = kept[section] = 0
            for index, entity in enumerate(entities):
                try:
                    written = _import_entity(user, sync_type, entity, local.get(entity.entity_id))
                except (DRFValidationError, APIException) as error:
                    errors = ImportErrors()
                    errors.add_detail(f"{section}[{index}]", error.detail)
                    errors.raise_if_any()
                counts[section] += written
                kept[section] += not written
        audit_record(
            event=AuditEvent.Event.DATA_IMPORTED,
            user=user,
            metadata={"mode": mode, "imported": counts, "kept": kept},
        )
    return {"mode": mode, "imported": counts, "kept": kept, "replaced_ids": plan.replaced_ids}


def _local_versions(
    user: User, sync_type: registry.SyncType, entities: list[PlannedEntity]
) -> dict[uuid.UUID, tuple[datetime, int]]:
    """`{id: (updated_at, version)}` of the entities the user sees that the document names (one query),
    and those the user may not change (they only view their space) as kept whatever the document says."""
    rows = sync_type.model.objects.for_user(user).filter(pk__in=[e.entity_id for e in entities])
    roles = visible_roles(user)
    return {
        pk: (updated_at if at_least(roles.get(space_id), EDITOR) else _NEVER_OLDER, version)
        for pk, updated_at, version, space_id in rows.values_list("pk", "updated_at", "version", "space_id")
    }


# The `updated_at` of an entity the importer may not change: no document is newer.
_NEVER_OLDER = datetime.max.replace(tzinfo=UTC)
# The `updated_at` of an entity this import made itself: the document's is newer.
_NEVER_NEWER = datetime.min.replace(tzinfo=UTC)


def _made_by_this_import(
    user: User, sync_type: registry.SyncType, entity_id: uuid.UUID
) -> tuple[datetime, int] | None:
    """An entity that did not exist when the import began but does now: the server made it under the id
    it derives (UUID version 5: the next occurrence of a recurring item this import completed), and the
    document holds it too. The document's copy is written over it, as for an older local one, instead of
    failing on its id."""
    row = (
        sync_type.model.objects.for_user(user).filter(pk=entity_id).values_list("version", flat=True).first()
    )
    return None if row is None else (_NEVER_NEWER, row)


def _import_entity(
    user: User, sync_type: registry.SyncType, entity: PlannedEntity, local: tuple[datetime, int] | None
) -> bool:
    """Creates the entity, or updates the user's own when the document's is newer; True when it wrote.
    A document entity without `updated_at`, or not newer, leaves the user's as it is."""
    assert sync_type.create is not None
    assert sync_type.update is not None
    if local is None and entity.entity_id.version == 5:
        local = _made_by_this_import(user, sync_type, entity.entity_id)
    if local is None:
        sync_type.create(user=user, entity_id=entity.entity_id, data=entity.data)
        return True
    updated_at, version = local
    if entity.updated_at is None or entity.updated_at <= updated_at:
        return False
    updated, _ = sync_type.update(user=user, entity_id=entity.entity_id, base=ANY_VERSION, data=entity.data)
    return bool(updated.version != version)


def _remove_owned(user: User) -> None:
    """Deletes the user's personal entities through their services (so each deletion reaches sync),
    dependents first. What they share in workspaces belongs to the workspaces and stays."""
    for _, sync_type in reversed(sections()):
        assert sync_type.delete is not None
        owned = list(sync_type.model.objects.personal(user).values_list("pk", flat=True))
        for entity_id in owned:
            sync_type.delete(user=user, entity_id=entity_id, base=ANY_VERSION)
