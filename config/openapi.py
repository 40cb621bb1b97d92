"""The OpenAPI document as client developers meet it: each operation's name, summary and tag, the shared
headers and parameters, and the shapes no serializer describes (the sync feed and push, the export).

Generated clients (scripts/clients/) are built from it: an operation's `operationId` becomes a function
name there, so every operation is named here (tests/core/test_openapi_contract.py holds the table whole).
"""

from __future__ import annotations

import copy
from typing import Any

API = "/api/v1/"

# (method, path under /api/v1/) -> (tag, operationId, summary, description or "").
OPERATIONS: dict[tuple[str, str], tuple[str, str, str, str]] = {
    ("post", "auth/register"): (
        "auth",
        "register",
        "Create an account",
        "Answers the new user and a session (access and refresh tokens). A weak password or a taken "
        "email is 400.",
    ),
    ("post", "auth/token"): ("auth", "login", "Log in with email and password", ""),
    ("post", "auth/token/refresh"): (
        "auth",
        "refreshToken",
        "Exchange a refresh token for a new pair",
        "Refresh tokens rotate: the one sent is revoked, and sending it again is 401.",
    ),
    ("post", "auth/logout"): ("auth", "logout", "Revoke one refresh token", ""),
    ("post", "auth/logout-all"): ("auth", "logoutAll", "Revoke every refresh token of the user", ""),
    ("post", "auth/password/change"): (
        "auth",
        "changePassword",
        "Change the password",
        "Revokes every other refresh token; the `refresh` sent, if any, stays valid.",
    ),
    ("post", "auth/password/reset"): (
        "auth",
        "requestPasswordReset",
        "Email a password reset link",
        "202 whether or not the email has an account.",
    ),
    ("post", "auth/password/reset/confirm"): (
        "auth",
        "confirmPasswordReset",
        "Set a new password with a reset token",
        "The token works once and expires; every session of the user is revoked.",
    ),
    ("get", "user/api-keys"): ("api-keys", "listApiKeys", "List the user's API keys", ""),
    ("post", "user/api-keys"): (
        "api-keys",
        "createApiKey",
        "Create an API key",
        "The secret is the `key` member of this answer, shown only here. Keys are managed with a login "
        "session: an API key cannot create or revoke keys (403).",
    ),
    ("delete", "user/api-keys/{key_id}"): ("api-keys", "revokeApiKey", "Revoke an API key", ""),
    ("post", "auth/passkeys/register/begin"): (
        "passkeys",
        "beginPasskeyRegistration",
        "Start adding a passkey",
        "Answers a ceremony id and the creation options for the device. Needs a login session (an API key "
        "gets 403). The ceremony works once, for five minutes.",
    ),
    ("post", "auth/passkeys/register/finish"): (
        "passkeys",
        "finishPasskeyRegistration",
        "Add the passkey the device made",
        "A used, expired or unknown ceremony, or an answer that does not verify (signature, origin, relying "
        "party, no user verification) is 400 on `credential`; the ceremony is spent either way.",
    ),
    ("post", "auth/passkeys/login/begin"): (
        "passkeys",
        "beginPasskeyLogin",
        "Start logging in with a passkey",
        "Without `email`, any discoverable passkey of this site may answer. Shares the limits of auth/token.",
    ),
    ("post", "auth/passkeys/login/finish"): (
        "passkeys",
        "finishPasskeyLogin",
        "Log in with a passkey",
        "Answers a session like auth/token. Anything that does not verify is 401 `authentication_failed`, "
        "and the ceremony is spent either way. Shares the limits of auth/token.",
    ),
    ("get", "user/passkeys"): ("passkeys", "listPasskeys", "List the user's passkeys", ""),
    ("patch", "user/passkeys/{passkey_id}"): (
        "passkeys",
        "renamePasskey",
        "Rename a passkey",
        "Needs a login session (an API key gets 403).",
    ),
    ("delete", "user/passkeys/{passkey_id}"): (
        "passkeys",
        "deletePasskey",
        "Delete a passkey",
        "It no longer logs in; sessions it opened stay. Needs a login session (an API key gets 403).",
    ),
    ("get", "user/calendar-feeds"): (
        "calendar-feeds",
        "listCalendarFeeds",
        "List the user's calendar feeds",
        "Never their URLs: a feed's secret is shown once, when it is created.",
    ),
    ("post", "user/calendar-feeds"): (
        "calendar-feeds",
        "createCalendarFeed",
        "Create a calendar feed",
        "A feed of every open item with a due date the user can see, or of one list's (`list`). Its `url` "
        "holds the feed's secret and is in this answer only. At most 20 feeds per user. Needs a login "
        "session: with an API key it is 403 (the URL would outlive the key).",
    ),
    ("get", "user/calendar-feeds/{feed_id}"): (
        "calendar-feeds",
        "getCalendarFeed",
        "Show a calendar feed",
        "",
    ),
    ("delete", "user/calendar-feeds/{feed_id}"): (
        "calendar-feeds",
        "revokeCalendarFeed",
        "Revoke a calendar feed",
        "Its URL answers 404 from now on.",
    ),
    ("get", "user/webhooks"): (
        "webhooks",
        "listWebhooks",
        "List the user's webhooks",
        "Never their secrets: a webhook's signing secret is shown once, when it is created.",
    ),
    ("post", "user/webhooks"): (
        "webhooks",
        "createWebhook",
        "Create a webhook",
        'An https URL whose host resolves to public addresses, and the event types it gets (or `["*"]`). '
        "The signing `secret` (whsec_...) is in this answer only. At most 10 webhooks per user. Needs a "
        "login session: with an API key it is 403.",
    ),
    ("get", "user/webhooks/{webhook_id}"): ("webhooks", "getWebhook", "Show a webhook", ""),
    ("patch", "user/webhooks/{webhook_id}"): (
        "webhooks",
        "updateWebhook",
        "Change a webhook's URL, events or active",
        "Turning it on again (after a disabling) forgets its failures; turning it off fails its pending "
        "deliveries. Needs a login session.",
    ),
    ("delete", "user/webhooks/{webhook_id}"): (
        "webhooks",
        "deleteWebhook",
        "Delete a webhook",
        "Nothing more is sent to it; its deliveries go with it.",
    ),
    ("get", "user/webhooks/{webhook_id}/deliveries"): (
        "webhooks",
        "listWebhookDeliveries",
        "List a webhook's deliveries",
        "Those of the last 30 days, newest first.",
    ),
    ("post", "user/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): (
        "webhooks",
        "redeliverWebhookDelivery",
        "Send a delivery again",
        "One more attempt, due at once, with the same `webhook-id`. 400 when the webhook is not active.",
    ),
    ("post", "user/webhooks/{webhook_id}/test"): (
        "webhooks",
        "testWebhook",
        "Send a ping event",
        "A `ping` event for this webhook alone, sent by the worker at once. 400 when the webhook is not "
        "active.",
    ),
    ("delete", "user"): ("user", "deleteAccount", "Delete the account and everything it owns", ""),
    ("get", "user/export"): ("user", "exportData", "Export everything the user owns", ""),
    ("post", "user/import"): (
        "user",
        "importData",
        "Import an export document",
        "The whole document is validated before any change: an error is a 400 naming where, and nothing "
        "is changed.",
    ),
    ("get", "user/profile"): ("profile", "getProfile", "Read the profile", ""),
    ("patch", "user/profile"): ("profile", "updateProfile", "Change the profile", ""),
    ("get", "user/insights"): ("insights", "getInsights", "Statistics of a date range", ""),
    ("get", "search"): (
        "search",
        "search",
        "Search lists and items",
        "What the user can see now that matches `q`, best first, with snippets (docs/api/search.md).",
    ),
    ("get", "lists"): ("lists", "listLists", "List the user's lists", ""),
    ("post", "lists"): ("lists", "createList", "Create a list", ""),
    ("get", "lists/{id}"): ("lists", "getList", "Read a list", ""),
    ("put", "lists/{id}"): ("lists", "replaceList", "Replace a list", ""),
    ("patch", "lists/{id}"): ("lists", "updateList", "Change some fields of a list", ""),
    ("delete", "lists/{id}"): ("lists", "deleteList", "Delete a list and its items", ""),
    ("get", "items"): ("items", "listItems", "List items, filtered and ordered", ""),
    ("get", "agenda"): (
        "items",
        "getAgenda",
        "The agenda of a date range",
        "Open items due in the range and the occurrences recurring items will have in it, marked "
        "`projected` (docs/api/recurrence.md).",
    ),
    ("post", "items"): ("items", "createItem", "Create an item", ""),
    ("get", "items/{id}"): ("items", "getItem", "Read an item", ""),
    ("put", "items/{id}"): ("items", "replaceItem", "Replace an item", ""),
    ("patch", "items/{id}"): ("items", "updateItem", "Change some fields of an item", ""),
    ("delete", "items/{id}"): ("items", "deleteItem", "Delete an item", ""),
    ("get", "anti-todo"): ("anti-todo", "listAntiTodo", "List anti-todo entries of a day or range", ""),
    ("post", "anti-todo"): ("anti-todo", "createAntiTodo", "Log something done that was on no list", ""),
    ("get", "anti-todo/{id}"): ("anti-todo", "getAntiTodo", "Read an anti-todo entry", ""),
    ("put", "anti-todo/{id}"): ("anti-todo", "replaceAntiTodo", "Replace an anti-todo entry", ""),
    ("patch", "anti-todo/{id}"): ("anti-todo", "updateAntiTodo", "Change some fields of an entry", ""),
    ("delete", "anti-todo/{id}"): ("anti-todo", "deleteAntiTodo", "Delete an anti-todo entry", ""),
    ("get", "focus-card"): ("focus", "getFocusCard", "Read the focus card of a day", ""),
    ("put", "focus-card"): ("focus", "putFocusCard", "Create or replace the manual card of a day", ""),
    ("patch", "focus-card"): ("focus", "updateFocusCard", "Change a card's intention or order", ""),
    ("post", "focus-card/generate"): ("focus", "generateFocusCard", "Pick a day's card from open items", ""),
    ("get", "focus-cards"): ("focus", "listFocusCards", "The focus cards of a date range", ""),
    ("get", "workspaces"): (
        "workspaces",
        "listWorkspaces",
        "List the workspaces the user belongs to",
        "Each with the caller's own `role` and the `member_count`.",
    ),
    ("post", "workspaces"): (
        "workspaces",
        "createWorkspace",
        "Create a workspace",
        "The caller becomes its owner.",
    ),
    ("get", "workspaces/{id}"): ("workspaces", "getWorkspace", "Read a workspace", ""),
    ("patch", "workspaces/{id}"): ("workspaces", "renameWorkspace", "Rename a workspace (admin)", ""),
    ("delete", "workspaces/{id}"): (
        "workspaces",
        "deleteWorkspace",
        "Delete a workspace with its lists and items (owner)",
        "",
    ),
    ("get", "workspaces/{workspace_id}/members"): (
        "workspaces",
        "listMembers",
        "List a workspace's members",
        "",
    ),
    ("patch", "workspaces/{workspace_id}/members/{user_id}"): (
        "workspaces",
        "changeMemberRole",
        "Change a member's role",
        "Admins change editors and viewers, up to admin; the owner changes anyone, and `owner` hands "
        "ownership over (the old owner becomes admin).",
    ),
    ("delete", "workspaces/{workspace_id}/members/{user_id}"): (
        "workspaces",
        "removeMember",
        "Remove a member, or leave",
        "A member removing themself leaves; the owner cannot leave (409 `last_owner`).",
    ),
    ("get", "workspaces/{workspace_id}/invitations"): (
        "workspaces",
        "listInvitations",
        "List a workspace's pending invitations (admin)",
        "",
    ),
    ("post", "workspaces/{workspace_id}/invitations"): (
        "workspaces",
        "createInvitation",
        "Invite an email to a workspace (admin)",
        "Emails a single-use link that expires. Inviting an address again replaces its pending invitation.",
    ),
    ("delete", "workspaces/{workspace_id}/invitations/{invitation_id}"): (
        "workspaces",
        "revokeInvitation",
        "Revoke a pending invitation (admin)",
        "",
    ),
    ("get", "workspaces/{workspace_id}/activity"): (
        "workspaces",
        "listActivity",
        "What happened in a workspace, newest first",
        "",
    ),
    ("get", "user/invitations"): ("workspaces", "listMyInvitations", "Invitations to the user's email", ""),
    ("post", "user/invitations/{invitation_id}/accept"): (
        "workspaces",
        "acceptInvitation",
        "Join a workspace by an invitation",
        "Answers the workspace. Any invitation that cannot be used is the same 400 `invitation_invalid`.",
    ),
    ("post", "user/invitations/{invitation_id}/decline"): (
        "workspaces",
        "declineInvitation",
        "Decline an invitation",
        "",
    ),
    ("post", "invitations/accept"): (
        "workspaces",
        "acceptInvitationByToken",
        "Join a workspace with an emailed token",
        "The account's email must be the invited one. Answers the workspace.",
    ),
    ("get", "sync"): (
        "sync",
        "pullChanges",
        "Pull the changes since a cursor",
        "Send back the `cursor` of the last answer; without one (or 0) it is a full sync, which has no "
        "tombstones. Continue while `has_more` is true. An entity appears at most once per answer, with "
        "its latest state; `data` holds its own fields only (no derived values such as `open_count`).",
    ),
    ("get", "reminders"): ("reminders", "listReminders", "List your reminders", ""),
    ("post", "reminders"): (
        "reminders",
        "createReminder",
        "Set a reminder on an item",
        "Either `remind_at` (an instant) or `minutes_before` (before the item's due date and time, in your "
        "time zone; the item needs both). `fires_at` is derived and read-only.",
    ),
    ("get", "reminders/{id}"): ("reminders", "getReminder", "Read a reminder", ""),
    ("put", "reminders/{id}"): ("reminders", "replaceReminder", "Replace a reminder", ""),
    ("patch", "reminders/{id}"): (
        "reminders",
        "updateReminder",
        "Change a reminder",
        "A new item, `remind_at` or `minutes_before` arms a fired reminder again.",
    ),
    ("delete", "reminders/{id}"): ("reminders", "deleteReminder", "Delete a reminder", ""),
    ("get", "notifications"): (
        "notifications",
        "listNotifications",
        "List your notifications, newest first",
        "",
    ),
    ("get", "notifications/{id}"): ("notifications", "getNotification", "Read a notification", ""),
    ("patch", "notifications/{id}"): (
        "notifications",
        "markNotification",
        "Mark a notification read or unread",
        "Needs no version; an If-Match is honoured when sent.",
    ),
    ("post", "notifications/read-all"): (
        "notifications",
        "readAllNotifications",
        "Mark every unread notification read",
        "",
    ),
    ("post", "sync"): (
        "sync",
        "pushChanges",
        "Push offline operations, then pull",
        "Operations run in order, each atomic on its own; each gets a result (`applied`, `merged`, "
        "`conflict` or `invalid`) and the request still answers 200. An `op_id` already processed is not "
        "run again: its first result is returned. The answer also holds the changes since `cursor`.",
    ),
    ("post", "stream/ticket"): (
        "live",
        "createStreamTicket",
        "Get a ticket that opens the live-updates socket",
        "Single use, valid 30 seconds: open `GET /api/v1/stream?ticket=...` (a WebSocket) with it. For "
        "browsers, which cannot send an Authorization header on a WebSocket; other clients may send their "
        "header on the upgrade instead. The socket's messages are in the client guide (`docs/api/live.md`).",
    ),
}

TAGS = [
    {"name": "auth", "description": "Accounts and sessions: register, log in, refresh, log out, passwords."},
    {"name": "api-keys", "description": "Personal API keys (`Authorization: Api-Key <key>`)."},
    {"name": "passkeys", "description": "Passkeys (WebAuthn): add them, log in with them, manage them."},
    {
        "name": "calendar-feeds",
        "description": "Secret calendar URLs of the user's dated items. The feeds themselves are served at "
        "`GET /calendar/<token>.ics`, outside this API, the token their only credential "
        "(docs/api/calendar-feeds.md).",
    },
    {
        "name": "webhooks",
        "description": "Signed HTTP callbacks (Standard Webhooks) for the changes the user can see, with "
        "their deliveries (docs/api/webhooks.md).",
    },
    {"name": "user", "description": "The account as a whole: export, import, deletion."},
    {"name": "profile", "description": "Display name, time zone, preferences and onboarding."},
    {"name": "lists", "description": "Lists of items."},
    {"name": "items", "description": "Items of the lists."},
    {"name": "focus", "description": "Focus cards: the items a user means to finish on one day."},
    {"name": "anti-todo", "description": "What the user did that was never on a list."},
    {"name": "insights", "description": "Statistics computed from the user's data."},
    {"name": "workspaces", "description": "Shared workspaces: members, roles, invitations, activity."},
    {"name": "reminders", "description": "Reminders on items: when they fire, and what firing does."},
    {"name": "notifications", "description": "What the server tells you: reminders fired, invitations, ..."},
    {"name": "sync", "description": "Offline sync: pull the change feed, push offline operations."},
    {"name": "live", "description": "Live updates: tickets for the WebSocket that pokes clients to sync."},
    {"name": "search", "description": "Full-text search of lists and items."},
]

HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id (taken from the request when it is a sane token, otherwise "
        "made); also in problem bodies as `request_id`.",
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": 'Remaining requests and seconds to reset per policy, e.g. `"default";r=599;t=60`.',
        "schema": {"type": "string"},
    },
    "RateLimit-Policy": {
        "description": 'The policies the request counted against, e.g. `"default";q=600;w=60`.',
        "schema": {"type": "string"},
    },
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}},
    "ETag": {
        "description": 'The entity\'s version as a strong ETag (`"4"`), for `If-Match`.',
        "schema": {"type": "string"},
    },
    "Location": {"description": "The URL of the created entity.", "schema": {"type": "string"}},
    "Idempotent-Replayed": {
        "description": "`true` when the answer is the stored answer of an earlier request with the same "
        "`Idempotency-Key`.",
        "schema": {"type": "string", "enum": ["true"]},
    },
}

PARAMETERS: dict[str, dict[str, Any]] = {
    "IfMatch": {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": 'The version the client edited, as its ETag (`"4"`; RFC 9110 also allows a list and '
        "`*`): a strict precondition, 412 `precondition_failed` when it does not match the current version "
        "(no merge), and for a value that is not a strong ETag. Or send the base `version` instead (in "
        "the body, or `?version=` on a delete).",
        "schema": {"type": "string"},
    },
    "Version": {
        "name": "version",
        "in": "query",
        "required": False,
        "description": "The base version to delete (or send If-Match). Stale: 409 `version_conflict`; "
        "neither given: 428 `version_required`.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 2_000_000_000},
    },
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "Makes a retried POST safe: a repeat with the same body within 24 hours replays the "
        "stored answer (with `Idempotent-Replayed: true`); the same key with another body is 422 "
        "`idempotency_key_reused`; while the first still runs, 409 `idempotency_key_in_use`.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
    },
}

# Query parameters that an empty value leaves out (`?list=` is no filter, `?cursor=` the start), by operation.
EMPTY_IS_ABSENT = {
    ("get", "items"): {
        "list",
        "status",
        "priority",
        "due_before",
        "due_after",
        "completed_from",
        "completed_to",
        "q",
    },
    ("get", "sync"): {"cursor", "limit"},
    ("post", "sync"): {"limit"},
}

# Component descriptions for client developers (class docstrings are never used).
DESCRIPTIONS = {
    "Problem": "RFC 9457 problem details: every error under /api/ (`application/problem+json`).",
    "List": "A list of items.",
    "Item": "An item of a list.",
    "AntiTodoEntry": "Something the user did that was never on a list.",
    "FocusCard": "The short list of items a user means to finish on one day.",
    "Profile": "The user's profile.",
    "ApiKey": "A personal API key (without its secret).",
    "ApiKeyCreated": "A new API key; `key` is the secret, shown only in this answer.",
    "Workspace": "A set of lists shared by its members.",
    "Member": "A member of a workspace and their role.",
    "Invitation": "An invitation to join a workspace.",
    "Activity": "One entry of a workspace's activity log.",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _without(schema: dict[str, Any], *names: str, **replace: Any) -> dict[str, Any]:
    """A copy of an object schema without some members (and with others replaced)."""
    result = copy.deepcopy(schema)
    result.pop("description", None)
    for name in names:
        result["properties"].pop(name, None)
    result["properties"].update(replace)
    result["required"] = sorted(n for n in result.get("required", []) if n in result["properties"])
    return result


UUID = {"type": "string", "format": "uuid"}
# The entity types of the feed and of a push, and the component of each one's `data`.
SYNC_TYPES = {
    "profile": "ProfileData",
    "list": "ListData",
    "item": "ItemData",
    "focus_card": "FocusCardData",
    "anti_todo": "AntiTodoEntryData",
    "workspace": "WorkspaceData",
    "member": "MemberData",
    "invitation": "InvitationData",
    "reminder": "ReminderData",
    "notification": "NotificationData",
}
# The request component a pushed operation's `data` follows, by type.
PUSH_DATA = {
    "profile": "PatchedProfileRequest",
    "list": "PatchedListRequest",
    "item": "PatchedItemRequest",
    "focus_card": "FocusCardPushRequest",
    "anti_todo": "PatchedAntiTodoEntryRequest",
    "workspace": "PatchedWorkspaceRequest",
    "reminder": "PatchedReminderRequest",
    "notification": "NotificationPushRequest",
}


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _member_data(member: dict[str, Any]) -> dict[str, Any]:
    """A member in sync: the member of `workspaces/{id}/members` with its id, workspace and version."""
    timestamp = {"type": "string", "format": "date-time", "readOnly": True}
    schema = copy.deepcopy(member)
    schema["properties"] = {
        "id": UUID,
        "workspace": UUID,
        **schema["properties"],
        "version": {"type": "integer", "readOnly": True},
        "created_at": timestamp,
        "updated_at": timestamp,
    }
    schema["required"] = sorted(schema["properties"])
    return schema


def _sync_components(schemas: dict[str, Any]) -> dict[str, Any]:
    """The feed's changes (a union by `type`), a push's operations and results, and the export document."""
    card_items = {"type": "array", "items": UUID, "description": "The card's item ids, in order."}
    data = {
        "ProfileData": _without(schemas["Profile"], "email"),
        "ListData": _without(schemas["List"], "open_count"),
        "ItemData": copy.deepcopy(schemas["Item"]),
        "FocusCardData": _without(schemas["FocusCard"], "done_count", items=card_items),
        "AntiTodoEntryData": copy.deepcopy(schemas["AntiTodoEntry"]),
        "WorkspaceData": _without(schemas["Workspace"], "role", "member_count"),
        "MemberData": _member_data(schemas["Member"]),
        "InvitationData": copy.deepcopy(schemas["Invitation"]),
        # `fires_at` is derived (scheduling state): left out of sync data, like open_count.
        "ReminderData": _without(schemas["Reminder"], "fires_at"),
        "NotificationData": copy.deepcopy(schemas["Notification"]),
    }
    for schema in data.values():
        schema.pop("description", None)
    components: dict[str, Any] = dict(data)
    changes = {}
    for type_name, data_name in SYNC_TYPES.items():
        name = f"{_pascal(type_name)}Change"
        changes[type_name] = name
        components[name] = {
            "type": "object",
            "description": f"A change of a `{type_name}`: its state, or a tombstone (`deleted: true`, "
            "no `version` and no `data`).",
            "properties": {
                "type": {"type": "string", "enum": [type_name]},
                "id": UUID,
                "deleted": {"type": "boolean"},
                "version": {"type": "integer", "description": "Absent on a tombstone."},
                "data": {**_ref(data_name), "description": "The entity's own fields; absent on a tombstone."},
            },
            "required": ["type", "id", "deleted"],
        }
    components["Change"] = {
        "oneOf": [_ref(name) for name in changes.values()],
        "discriminator": {
            "propertyName": "type",
            "mapping": {type_name: f"#/components/schemas/{name}" for type_name, name in changes.items()},
        },
    }
    feed_members = {
        "cursor": {
            "type": "string",
            "maxLength": 4096,
            "description": "Opaque: send it back unchanged in the next pull or push.",
        },
        "has_more": {"type": "boolean", "description": "Pull again with `cursor` while true."},
        "changes": {"type": "array", "items": _ref("Change")},
    }
    components["SyncChanges"] = {
        "type": "object",
        "properties": feed_members,
        "required": ["cursor", "has_more", "changes"],
    }
    components["PushError"] = {
        "type": "object",
        "description": "Why an operation was not applied: `code` as in problem bodies, `errors` by field "
        "(invalid), `current` and `conflicting_fields` (conflict).",
        "properties": {
            "code": {"type": "string"},
            "detail": {"type": "string"},
            "errors": schemas["Problem"]["properties"]["errors"],
            "current": {
                "type": "object",
                "nullable": True,
                "additionalProperties": {},
                "description": "The entity as it is now, as its own endpoint shows it.",
            },
            "conflicting_fields": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["code", "detail"],
    }
    components["PushResult"] = {
        "type": "object",
        "properties": {
            "op_id": {**UUID, "nullable": True, "description": "Null when the operation's own was invalid."},
            "status": {
                "type": "string",
                "enum": ["applied", "merged", "conflict", "invalid"],
                "x-enum-varnames": ["APPLIED", "MERGED", "CONFLICT", "INVALID"],
            },
            "entity": {
                "type": "object",
                "additionalProperties": {},
                "description": "The entity after the operation (applied or merged create and update), as "
                "its own endpoint shows it.",
            },
            "error": _ref("PushError"),
        },
        "required": ["op_id", "status"],
    }
    components["SyncPushResult"] = {
        "type": "object",
        "properties": {"results": {"type": "array", "items": _ref("PushResult")}, **feed_members},
        "required": ["results", "cursor", "has_more", "changes"],
    }
    operations = {}
    base = schemas["SyncOperationRequest"]
    for type_name, data_name in PUSH_DATA.items():
        name = f"{_pascal(type_name)}Operation"
        operations[type_name] = name
        operation = _without(
            base,
            type={"type": "string", "enum": [type_name]},
            data={**_ref(data_name), "description": "The entity's fields (create and update)."},
        )
        operation["additionalProperties"] = False
        components[name] = operation
    components["Operation"] = {
        "oneOf": [_ref(name) for name in operations.values()],
        "discriminator": {
            "propertyName": "type",
            "mapping": {type_name: f"#/components/schemas/{name}" for type_name, name in operations.items()},
        },
    }
    push = copy.deepcopy(schemas["SyncPushRequest"])
    push["properties"]["operations"]["items"] = _ref("Operation")
    components["SyncPushRequest"] = push
    components["FocusCardPushRequest"] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "id": UUID,
            "date": schemas["FocusCardGenerateRequest"]["properties"]["date"],
            "intention": {"type": "string", "maxLength": 500},
            "source": {"type": "string", "enum": ["generated", "manual"]},
            "items": card_items,
            "done_count": {"type": "integer", "readOnly": True, "description": "Ignored."},
        },
    }
    components["NotificationPushRequest"] = {
        "type": "object",
        "additionalProperties": False,
        "description": "A notification's one writable field (an update only).",
        "properties": {
            "read_at": {"type": "string", "format": "date-time", "nullable": True},
        },
    }
    components["ExportDocument"] = {
        "type": "object",
        "description": "Everything the user owns, as `POST user/import` takes it back.",
        "properties": {
            "format": {"type": "string", "enum": ["daymark-export"]},
            "format_version": {"type": "integer", "enum": [1]},
            "exported_at": {"type": "string", "format": "date-time"},
            "profile": {
                "type": "object",
                "properties": {
                    key: schemas["Profile"]["properties"][key]
                    for key in ("display_name", "timezone", "preferences", "onboarding")
                },
                "required": ["display_name", "timezone", "preferences", "onboarding"],
            },
            "lists": {"type": "array", "items": _without(data["ListData"], "version")},
            "items": {"type": "array", "items": _without(data["ItemData"], "version")},
            "focus_cards": {"type": "array", "items": _without(data["FocusCardData"], "version")},
            "anti_todo": {"type": "array", "items": _without(data["AntiTodoEntryData"], "version")},
            # Absent from documents made before reminders existed; an import takes it as empty.
            "reminders": {"type": "array", "items": _without(data["ReminderData"], "version")},
        },
        "required": [
            "format",
            "format_version",
            "exported_at",
            "profile",
            "lists",
            "items",
            "focus_cards",
            "anti_todo",
        ],
    }
    return components


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _ordering_component(values: list[str]) -> dict[str, Any]:
    names = [value.lstrip("-").upper() + ("_DESC" if value.startswith("-") else "") for value in values]
    return {"type": "string", "enum": values, "x-enum-varnames": names}


def postprocess(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular's postprocessing hook (after its enum hook)."""
    components = result.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    components["headers"] = HEADERS
    components["parameters"] = PARAMETERS
    result["tags"] = TAGS
    schemas.update(_sync_components(schemas))
    for name, description in DESCRIPTIONS.items():
        if name in schemas:
            schemas[name]["description"] = description

    for path, methods in result["paths"].items():
        for method, operation in methods.items():
            key = (method, path.removeprefix(API))
            if key in OPERATIONS:
                tag, operation_id, summary, description = OPERATIONS[key]
                operation.update(tags=[tag], operationId=operation_id, summary=summary)
                if description:
                    operation["description"] = description
            if operation.get("security") == [{}]:
                operation["security"] = []  # anonymous: no credentials needed
            _name_orderings(schemas, operation)
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and "pattern" in parameter.get("schema", {}):
                    parameter["schema"]["format"] = "uuid"  # an id (also taken without its dashes)
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and parameter.get("name") in EMPTY_IS_ABSENT.get(key, ()):
                    parameter["allowEmptyValue"] = True
    _type_sync_and_export(result["paths"])
    _inline_nullable_objects(result, schemas)
    _drop_unreferenced(result)
    return result


# Nullable object fields drf-spectacular writes as `allOf: [$ref]` beside `nullable: true`: OpenAPI 3.0
# validators (openapi-core, ajv in the generated clients' checks) read `nullable` only beside a `type`, and
# so refuse the null the API answers. Such a field gets the object's schema itself, with its `type`.
NULLABLE_INLINED = ("Recurrence", "RecurrenceRequest", "RecurrenceReplaceRequest")


def _inline_nullable_objects(node: Any, schemas: dict[str, Any]) -> Any:
    if isinstance(node, list):
        for child in node:
            _inline_nullable_objects(child, schemas)
    elif isinstance(node, dict):
        for key, child in list(node.items()):
            if isinstance(child, dict) and child.get("nullable") and len(child.get("allOf") or []) == 1:
                name = child["allOf"][0].get("$ref", "").rsplit("/", 1)[-1]
                if name in NULLABLE_INLINED and name in schemas:
                    rest = {k: v for k, v in child.items() if k != "allOf"}
                    node[key] = {**copy.deepcopy(schemas[name]), **rest}
                    continue
            _inline_nullable_objects(child, schemas)
    return node


def _name_orderings(schemas: dict[str, Any], operation: dict[str, Any]) -> None:
    """`?ordering=` of each list endpoint: a named enum with readable member names (`DUE_DATE_DESC`)."""
    for parameter in operation.get("parameters", []):
        if parameter.get("name") == "ordering" and "enum" in parameter.get("schema", {}):
            tag = operation["operationId"].removeprefix("list")
            name = f"{tag.rstrip('s') if tag.endswith('s') else tag}Ordering"
            schemas[name] = _ordering_component(parameter["schema"]["enum"])
            parameter["schema"] = _ref(name)
            parameter["allowEmptyValue"] = True  # empty: the default order, as when absent


def _type_sync_and_export(paths: dict[str, Any]) -> None:
    feed = paths[f"{API}sync"]
    feed["get"]["responses"]["200"]["content"] = _json(_ref("SyncChanges"))
    feed["post"]["responses"]["200"]["content"] = _json(_ref("SyncPushResult"))
    export = paths[f"{API}user/export"]["get"]
    export["responses"]["200"]["content"] = _json(_ref("ExportDocument"))


def _drop_unreferenced(result: dict[str, Any]) -> None:
    """Components nothing refers to any more (replaced above: the untyped push operation, its enums)."""
    schemas = result["components"]["schemas"]
    while True:
        text = repr(dict(result.items()))
        unused = [name for name in schemas if f"#/components/schemas/{name}'" not in text]
        if not unused:
            return
        for name in unused:
            del schemas[name]
