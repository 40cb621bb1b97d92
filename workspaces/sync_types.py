"""Workspaces, members and invitations as sync types. A workspace is pushed like a list (create, rename,
delete); members and invitations change only through their endpoints, which need the server anyway."""

from __future__ import annotations

from sync.registry import FeedColumns, SyncType, register, write_services
from workspaces import services
from workspaces.models import Invitation, Member, Workspace
from workspaces.serializers import (
    InvitationSerializer,
    MemberDataSerializer,
    WorkspaceSerializer,
    invitation_representation,
    member_data,
    member_representation,
    workspace_representation,
)


def register_all() -> None:
    register(
        SyncType(
            model=Workspace,
            serializer=WorkspaceSerializer,
            represent=workspace_representation,
            feed_columns=FeedColumns.of(Workspace),  # role and member_count are derived
            **write_services(
                id_name="workspace_id",
                create=services.workspace_create,
                update=services.workspace_rename,
                delete=services.workspace_delete,
            ),
        )
    )
    register(
        SyncType(
            model=Member,
            serializer=MemberDataSerializer,
            represent=member_representation,
            to_data=member_data,
            feed_queryset=lambda queryset: queryset.select_related("user"),
        )
    )
    register(
        SyncType(
            model=Invitation,
            serializer=InvitationSerializer,
            represent=invitation_representation,
            feed_columns=FeedColumns.of(Invitation),
        )
    )
