"""The endpoints of docs/api/workspaces.md. Every write calls workspaces.services; a non-member gets a 404
for the workspace and everything in it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from core.models import User
from core.versioning import BaseVersion
from core.views import VersionedModelViewSet, request_user
from workspaces import selectors, services
from workspaces.models import Invitation, Member, Workspace
from workspaces.serializers import (
    ActivitySerializer,
    InvitationCreateSerializer,
    InvitationSerializer,
    InvitationTokenSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    WorkspaceSerializer,
    invitation_representation,
    member_representation,
    workspace_representation,
)


def _validated(serializer_class: type[BaseSerializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class WorkspaceViewSet(VersionedModelViewSet):
    model = Workspace
    serializer_class = WorkspaceSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    ordering_fields = ("created_at", "name", "updated_at")
    default_ordering = "created_at"

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        user = self.request.user
        return selectors.with_role_and_count(queryset, user) if isinstance(user, User) else queryset

    def represent(self, entity: Workspace) -> dict[str, Any]:
        return workspace_representation(entity)

    def create_entity(
        self, user: User, entity_id: UUID | None, data: dict[str, Any]
    ) -> tuple[Workspace, bool]:
        return services.workspace_create(user=user, workspace_id=entity_id, data=data)

    def update_entity(
        self, user: User, entity_id: UUID, base: BaseVersion, data: dict[str, Any]
    ) -> tuple[Workspace, bool]:
        return services.workspace_rename(user=user, workspace_id=entity_id, base=base, data=data)

    def delete_entity(self, user: User, entity_id: UUID, base: BaseVersion) -> None:
        services.workspace_delete(user=user, workspace_id=entity_id, base=base)


class _WorkspacePage(generics.GenericAPIView):
    """A cursor-paginated list of something in one workspace the caller is a member of."""

    permission_classes = [IsAuthenticated]
    required_role = "viewer"

    def workspace(self) -> Workspace:
        workspace, _role = selectors.readable_workspace(
            request_user(self.request), self.kwargs["workspace_id"], self.required_role
        )
        return workspace

    def page(self, queryset: QuerySet) -> Response:
        rows = self.paginate_queryset(queryset) or []
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)


class MemberListView(_WorkspacePage):
    serializer_class = MemberSerializer
    ordering_fields = ("joined_at",)
    default_ordering = "joined_at"

    def get_queryset(self) -> QuerySet[Member]:
        return Member.objects.none()  # the schema's model; `get` reads the workspace's members

    @extend_schema(responses={200: MemberSerializer(many=True)})
    def get(self, request: Request, workspace_id: UUID) -> Response:
        return self.page(selectors.members_of(self.workspace()))


class MemberDetailView(APIView):
    permission_classes = [IsAuthenticated]
    extra_error_statuses = {"PATCH": {409}, "DELETE": {409}}  # last_owner

    @extend_schema(request=MemberRoleSerializer, responses={200: MemberSerializer})
    def patch(self, request: Request, workspace_id: UUID, user_id: UUID) -> Response:
        # A PATCH: without `role` it changes nothing (and answers the member, to those who may change it).
        serializer = MemberRoleSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        role = serializer.validated_data.get("role")
        member = services.member_change_role(
            user=request_user(request), workspace_id=workspace_id, member_user_id=user_id, role=role
        )
        return Response(member_representation(member))

    @extend_schema(responses={204: OpenApiResponse(description="Removed (or left).")})
    def delete(self, request: Request, workspace_id: UUID, user_id: UUID) -> Response:
        services.member_remove(user=request_user(request), workspace_id=workspace_id, member_user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationListView(_WorkspacePage):
    serializer_class = InvitationSerializer
    ordering_fields = ("created_at",)
    default_ordering = "-created_at"
    required_role = "admin"

    def get_queryset(self) -> QuerySet[Invitation]:
        return Invitation.objects.none()

    @extend_schema(responses={200: InvitationSerializer(many=True)})
    def get(self, request: Request, workspace_id: UUID) -> Response:
        return self.page(selectors.pending_invitations_of(self.workspace()))

    @extend_schema(request=InvitationCreateSerializer, responses={201: InvitationSerializer})
    def post(self, request: Request, workspace_id: UUID) -> Response:
        data = _validated(InvitationCreateSerializer, request)
        invitation = services.invitation_create(
            user=request_user(request), workspace_id=workspace_id, email=data["email"], role=data["role"]
        )
        return Response(invitation_representation(invitation), status=status.HTTP_201_CREATED)


class InvitationDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={204: OpenApiResponse(description="Revoked.")})
    def delete(self, request: Request, workspace_id: UUID, invitation_id: UUID) -> Response:
        services.invitation_revoke(
            user=request_user(request), workspace_id=workspace_id, invitation_id=invitation_id
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ActivityView(_WorkspacePage):
    serializer_class = ActivitySerializer
    ordering_fields = ("at",)
    default_ordering = "-at"

    def get_queryset(self) -> QuerySet:
        return selectors.activity_of(Workspace()).none()

    @extend_schema(responses={200: ActivitySerializer(many=True)})
    def get(self, request: Request, workspace_id: UUID) -> Response:
        return self.page(selectors.activity_of(self.workspace()))


class UserInvitationListView(generics.GenericAPIView):
    """Invitations to the caller's email, newest first."""

    permission_classes = [IsAuthenticated]
    serializer_class = InvitationSerializer
    ordering_fields = ("created_at",)
    default_ordering = "-created_at"

    def get_queryset(self) -> QuerySet[Invitation]:
        user = self.request.user
        return selectors.invitations_to(user) if isinstance(user, User) else Invitation.objects.none()

    @extend_schema(responses={200: InvitationSerializer(many=True)})
    def get(self, request: Request) -> Response:
        rows = self.paginate_queryset(self.get_queryset()) or []
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)


class UserInvitationAcceptView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: WorkspaceSerializer})
    def post(self, request: Request, invitation_id: UUID) -> Response:
        workspace = services.invitation_accept(user=request_user(request), invitation_id=invitation_id)
        return Response(workspace_representation(workspace))


class UserInvitationDeclineView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: InvitationSerializer})
    def post(self, request: Request, invitation_id: UUID) -> Response:
        invitation = services.invitation_decline(user=request_user(request), invitation_id=invitation_id)
        return Response(invitation_representation(invitation))


class InvitationAcceptByTokenView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=InvitationTokenSerializer, responses={200: WorkspaceSerializer})
    def post(self, request: Request) -> Response:
        token = _validated(InvitationTokenSerializer, request)["token"]
        workspace = services.invitation_accept(user=request_user(request), token=token)
        return Response(workspace_representation(workspace))
