"""The scoped viewset base (docs/architecture.md, convention 2) and the versioned CRUD pattern of
docs/api/versions.md."""

from __future__ import annotations

from typing import Any, final
from uuid import UUID

from django.db.models import QuerySet
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from core.models import OwnedModel, User
from core.problems import VersionRequired, validation_error
from core.versioning import BaseVersion, base_version_from, etag_for, parse_version_value

UUID_PATTERN = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


def request_user(request: Request) -> User:
    """The authenticated user of a request (IsAuthenticated runs before every handler of the API)."""
    user = request.user
    assert isinstance(user, User)
    return user


class OwnedViewSet(viewsets.GenericViewSet):
    """Every query starts from `for_user(request.user)`; another user's object is a 404.

    Subclasses refine the queryset through `refine_queryset`; `get_queryset` itself is final.
    """

    model: type[OwnedModel]
    lookup_value_regex = UUID_PATTERN

    @final
    def get_queryset(self) -> QuerySet:
        user = self.request.user
        # The schema generator inspects the queryset (its model) with no user signed in.
        owned = self.model.objects.for_user(user) if isinstance(user, User) else self.model.objects.none()
        return self.refine_queryset(owned)

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset

    def represent(self, entity: Any) -> dict[str, Any]:
        """The entity as the API shows it: answers, and `current` in conflict answers."""
        return dict(self.get_serializer(entity).data)


class VersionedModelViewSet(OwnedViewSet):
    """List, create, retrieve, PATCH, PUT and DELETE with the version rules of docs/api/versions.md.

    A subclass writes through its app's services: `create_entity` -> (entity, created), `update_entity`
    -> (entity, merged), `delete_entity` -> None.
    """

    versioned = True
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def create_entity(self, user: User, entity_id: UUID | None, data: dict[str, Any]) -> tuple[Any, bool]:
        raise NotImplementedError

    def update_entity(
        self, user: User, entity_id: UUID, base: BaseVersion, data: dict[str, Any]
    ) -> tuple[Any, bool]:
        raise NotImplementedError

    def delete_entity(self, user: User, entity_id: UUID, base: BaseVersion) -> None:
        raise NotImplementedError

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
        return Response(self.represent(entity), status=status_code, headers=headers)

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
        entity, created = self.create_entity(request_user(request), data.pop("id", None), data)
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
        entity, _merged = self.update_entity(request_user(request), entity_id, base, data)
        return self._entity_response(entity, status.HTTP_200_OK)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        base = self._base_version(request, from_body=False, allow_query=True)
        self.delete_entity(request_user(request), self.get_object_id(), base)
        return Response(status=status.HTTP_204_NO_CONTENT)
