from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.serializers import DateTimeField, StrictModelSerializer, StrictSerializer, UUIDField
from sync.fields import SERVER_FIELDS, api_fields, entity_data, timestamp_text
from workspaces.models import Activity, Invitation, Member, Role, Workspace

INVITABLE_ROLES = [(role.value, role.label) for role in (Role.VIEWER, Role.EDITOR, Role.ADMIN)]


class WorkspaceSerializer(StrictModelSerializer):
    id = UUIDField(required=False)
    name = serializers.CharField(min_length=1, max_length=200)
    role = serializers.ChoiceField(choices=Role.choices, read_only=True, help_text="The caller's own role.")
    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Workspace
        fields = api_fields(Workspace, "role", "member_count")
        read_only_fields = list(SERVER_FIELDS)
        ignored_fields = ["role", "member_count"]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        if isinstance(instance, Workspace):
            return workspace_representation(instance)
        return super().to_representation(instance)


def workspace_representation(workspace: Workspace) -> dict[str, Any]:
    """What `GET workspaces/{id}` answers: `role` and `member_count` come annotated by the selector or
    set by the service that wrote it."""
    return entity_data(
        workspace,
        role=getattr(workspace, "role", None),
        member_count=int(getattr(workspace, "member_count", 0) or 0),
    )


class MemberSerializer(serializers.ModelSerializer):
    """A member as `workspaces/{id}/members` shows it."""

    user = UUIDField(source="user_id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    display_name = serializers.CharField(source="user.display_name", read_only=True)
    role = serializers.ChoiceField(choices=Role.choices)
    joined_at = DateTimeField(read_only=True)

    class Meta:
        model = Member
        fields = ["user", "email", "display_name", "role", "joined_at"]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        if isinstance(instance, Member):
            return member_representation(instance)
        return super().to_representation(instance)


def member_representation(member: Member) -> dict[str, Any]:
    return {
        "user": str(member.user_id),
        "email": member.user.email,
        "display_name": member.user.display_name,
        "role": member.role,
        "joined_at": timestamp_text(member.joined_at),
    }


def member_data(member: Member) -> dict[str, Any]:
    """The `member` sync type's data: the member plus its id, workspace and version."""
    data = entity_data(member)
    data.update(email=member.user.email, display_name=member.user.display_name)
    return {name: data[name] for name in ["id", *Member.sync_fields, *SERVER_FIELDS]}


class MemberDataSerializer(serializers.ModelSerializer):
    """The `member` sync type's fields (it is never pushed: members change through their endpoints)."""

    id = UUIDField(read_only=True)
    workspace = UUIDField(source="workspace_id", read_only=True)
    user = UUIDField(source="user_id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    display_name = serializers.CharField(source="user.display_name", read_only=True)
    joined_at = DateTimeField(read_only=True)
    created_at = DateTimeField(read_only=True)
    updated_at = DateTimeField(read_only=True)

    class Meta:
        model = Member
        fields = api_fields(Member)
        read_only_fields = fields


class MemberRoleSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationSerializer(serializers.ModelSerializer):
    """An invitation as its endpoints and the `invitation` sync type show it."""

    id = UUIDField(read_only=True)
    workspace = UUIDField(source="workspace_id", read_only=True)
    invited_by = UUIDField(source="invited_by_id", read_only=True, allow_null=True)
    expires_at = DateTimeField(read_only=True)
    created_at = DateTimeField(read_only=True)
    updated_at = DateTimeField(read_only=True)

    class Meta:
        model = Invitation
        fields = api_fields(Invitation)
        read_only_fields = fields

    def to_representation(self, instance: Any) -> dict[str, Any]:
        if isinstance(instance, Invitation):
            return entity_data(instance)
        return super().to_representation(instance)


def invitation_representation(invitation: Invitation) -> dict[str, Any]:
    return entity_data(invitation)


class InvitationCreateSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=INVITABLE_ROLES)


class InvitationTokenSerializer(StrictSerializer):
    token = serializers.CharField(max_length=200, trim_whitespace=True)


class ActorSerializer(serializers.Serializer):
    id = UUIDField()
    display_name = serializers.CharField()


class ActivityEntitySerializer(serializers.Serializer):
    type = serializers.CharField()
    id = UUIDField()
    title = serializers.CharField()


class ActivitySerializer(serializers.ModelSerializer):
    """One entry of `workspaces/{id}/activity`."""

    id = UUIDField(read_only=True)
    at = DateTimeField(read_only=True)
    actor = ActorSerializer(read_only=True, allow_null=True)
    entity = ActivityEntitySerializer(read_only=True)

    class Meta:
        model = Activity
        fields = ["id", "at", "actor", "action", "entity", "fields"]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        assert isinstance(instance, Activity)
        actor = instance.actor
        return {
            "id": str(instance.pk),
            "at": timestamp_text(instance.at),
            "actor": None if actor is None else {"id": str(actor.pk), "display_name": actor.display_name},
            "action": instance.action,
            "entity": {"type": instance.entity_type, "id": str(instance.entity_id), "title": instance.title},
            "fields": instance.fields,
        }


# The member named `fields` cannot be a class attribute (it is the serializer's own `fields`): declared
# here, for the schema; the representation above writes it.
ActivitySerializer._declared_fields["fields"] = serializers.DictField(read_only=True)
