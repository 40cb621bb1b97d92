"""The scoped viewset base (DESIGN convention 2) and the versioned CRUD pattern of docs/api/versions.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, final
from uuid import UUID

from django.db.models import QuerySet
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from core.models import OwnedModel
from core.problems import VersionRequired, validation_error
from core.versioning import BaseVersion, base_version_from, etag_for, parse_version_value

UUID_PATTERN = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class OwnedViewSet(viewsets.GenericViewSet):
    """Every query starts from `for_user(request.user)`; another user's object is a 404.

    Subclasses refine the queryset through `refine_queryset`; `get_queryset` itself is final.
    """

    model: type[OwnedModel]
    lookup_value_regex = UUID_PATTERN

    @final
    def get_queryset(self) -> QuerySet:
        return self.refine_queryset(self.model.objects.for_user(self.request.user))

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset

    def represent(self, entity: Any) -> dict[str, Any]:
        """The API representation, used for `current` in conflict answers."""
        return dict(self.get_serializer(entity).data)


class EntityServices(Protocol):
    """The write services of one entity type, called with keyword arguments (`user, entity_id, data`,
    and `base` for update and delete). The sync registry's entries are these, so the REST endpoints and
    sync push share one adapter per type."""

    @property
    def create(self) -> Callable[..., tuple[Any, bool]] | None: ...

    @property
    def update(self) -> Callable[..., tuple[Any, bool]] | None: ...

    @property
    def delete(self) -> Callable[..., None] | None: ...


class VersionedModelViewSet(OwnedViewSet):
    """List, create, retrieve, PATCH, PUT and DELETE with the version rules of docs/api/versions.md.

    Writes go through the services that `entity_services()` names (the app's sync registry entry):
    create -> (entity, created), update -> (entity, merged), delete -> None.
    """

    versioned = True
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def entity_services(self) -> EntityServices:
        raise NotImplementedError

    def create_entity(self, user: Any, entity_id: UUID | None, data: dict[str, Any]) -> tuple[Any, bool]:
        create = self.entity_services().create
        assert create is not None
        return create(user=user, entity_id=entity_id, data=data)

    def update_entity(
        self, user: Any, entity_id: UUID, base: BaseVersion, data: dict[str, Any]
    ) -> tuple[Any, bool]:
        update = self.entity_services().update
        assert update is not None
        return update(user=user, entity_id=entity_id, base=base, data=data)

    def delete_entity(self, user: Any, entity_id: UUID, base: BaseVersion) -> None:
        delete = self.entity_services().delete
        assert delete is not None
        delete(user=user, entity_id=entity_id, base=base)

    def get_object_id(self) -> UUID:
        try:
            return UUID(str(self.kwargs[self.lookup_url_kwarg or self.lookup_field]))
        except ValueError as error:  # the URL pattern admits only UUIDs; this is a safety net
            raise validation_error({"id": ["Not a valid UUID."]}) from error

    def _entity_response(self, entity: Any, status_code: int, *, location: bool = False) -> Response:
        headers = {"ETag": etag_for(entity.version)}
        if location:
            headers["Location"] = self.request.build_absolute_uri(
                f"{self.request.path.rstrip('/')}/{entity.pk}"
            )
        return Response(self.get_serializer(entity).data, status=status_code, headers=headers)

    def _validated(self, request: Request, *, partial: bool) -> dict[str, Any]:
        serializer: BaseSerializer = self.get_serializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def _base_version(
        self, request: Request, *, from_body: bool = True, allow_query: bool = False
    ) -> BaseVersion:
        try:
            return base_version_from(request, from_body=from_body, allow_query=allow_query)
        except VersionRequired:
            self.get_object()  # an entity that is not there is a 404, whatever the version
            raise

    def list(self, request: Request) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return self._entity_response(self.get_object(), status.HTTP_200_OK)

    def create(self, request: Request) -> Response:
        body = request.data if isinstance(request.data, dict) else {}
        if "version" in body:
            parse_version_value(body["version"])  # ignored on create, but never garbage
        data = self._validated(request, partial=False)
        entity, created = self.create_entity(request.user, data.pop("id", None), data)
        return self._entity_response(
            entity, status.HTTP_201_CREATED if created else status.HTTP_200_OK, location=created
        )

    def update(self, request: Request, pk: str | None = None) -> Response:
        return self._update(request, partial=False)

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        entity_id = self.get_object_id()
        base = self._base_version(request)
        data = self._validated(request, partial=partial)
        sent_id = data.pop("id", None)
        if sent_id is not None and sent_id != entity_id:
            raise validation_error({"id": ["The id cannot be changed."]})
        entity, _merged = self.update_entity(request.user, entity_id, base, data)
        return self._entity_response(entity, status.HTTP_200_OK)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        base = self._base_version(request, from_body=False, allow_query=True)
        self.delete_entity(request.user, self.get_object_id(), base)
        return Response(status=status.HTTP_204_NO_CONTENT)
