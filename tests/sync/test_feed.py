"""The change feed: full and incremental sync, paging, tombstones, cursors, query counts."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from django.db import transaction

from accounts.models import Profile, User
from core.versioning import BaseVersion
from lists.services import item_delete, item_update, list_delete
from sync import registry
from sync.models import Space
from sync.spaces import personal_space_id
from tests.sync.helpers import SYNC_URL, apply_changes, make_item, make_list, position, pull, pull_all

pytestmark = pytest.mark.django_db


def profile_id(user: Any) -> str:
    return str(Profile.objects.get(user=user).pk)


def test_a_full_sync_returns_every_entity_once_in_change_order(user: Any, user_client: Any) -> None:
    lst = make_list(user=user)
    first = make_item(list=lst)
    second = make_item(list=lst)
    item_update(user=user, item_id=first.pk, base=BaseVersion(1), data={"title": "edited"})

    answer = pull(user_client)

    assert [(c["type"], c["id"]) for c in answer["changes"]] == [
        ("profile", profile_id(user)),  # every account's first change
        ("list", str(lst.pk)),
        ("item", str(second.pk)),
        ("item", str(first.pk)),
    ]
    edited = answer["changes"][-1]
    assert edited["version"] == 2
    assert edited["data"]["title"] == "edited"
    assert answer["has_more"] is False
    assert position(user, answer["cursor"]) == Space.objects.get(user=user).last_change_number


def test_data_holds_the_entitys_own_fields_without_derived_values(user: Any, user_client: Any) -> None:
    make_item(list=make_list(user=user))

    changes = pull(user_client)["changes"]

    list_change = next(c for c in changes if c["type"] == "list")
    assert "open_count" not in list_change["data"]
    assert list_change["deleted"] is False
    item_change = next(c for c in changes if c["type"] == "item")
    assert {"title", "list", "status", "priority", "version"} <= set(item_change["data"])


def test_an_incremental_sync_returns_only_later_changes_and_tombstones(user: Any, user_client: Any) -> None:
    lst = make_list(user=user)
    kept = make_item(list=lst)
    gone = make_item(list=lst)
    cursor = pull(user_client)["cursor"]

    item_update(user=user, item_id=kept.pk, base=BaseVersion(1), data={"status": "done"})
    item_delete(user=user, item_id=gone.pk, base=BaseVersion(1))
    answer = pull(user_client, cursor)

    assert answer["changes"] == [
        {
            "type": "item",
            "id": str(kept.pk),
            "deleted": False,
            "version": 2,
            "data": answer["changes"][0]["data"],
        },
        {"type": "item", "id": str(gone.pk), "deleted": True},
    ]
    assert pull(user_client, answer["cursor"])["changes"] == []


def test_a_full_sync_returns_no_tombstones(user: Any, user_client: Any) -> None:
    lst = make_list(user=user)
    gone = make_item(list=lst)
    item_delete(user=user, item_id=gone.pk, base=BaseVersion(1))

    changes = pull(user_client)["changes"]

    assert [(c["type"], c["deleted"]) for c in changes] == [("profile", False), ("list", False)]


def test_deleting_a_list_sends_a_tombstone_for_each_of_its_items(user: Any, user_client: Any) -> None:
    lst = make_list(user=user)
    items = [make_item(list=lst) for _ in range(2)]
    cursor = pull(user_client)["cursor"]

    list_delete(user=user, list_id=lst.pk, base=BaseVersion(1))
    changes = pull(user_client, cursor)["changes"]

    assert {(c["type"], c["id"]) for c in changes} == {
        ("list", str(lst.pk)),
        *{("item", str(i.pk)) for i in items},
    }
    assert all(c["deleted"] for c in changes)


def test_a_re_created_id_appears_once_with_its_latest_state(user: Any, user_client: Any) -> None:
    lst = make_list(user=user)
    item = make_item(list=lst, title="first life")
    cursor = pull(user_client)["cursor"]

    item_delete(user=user, item_id=item.pk, base=BaseVersion(1))
    make_item(list=lst, id=item.pk, title="second life")
    changes = pull(user_client, cursor)["changes"]

    assert len(changes) == 1
    assert changes[0]["deleted"] is False
    assert changes[0]["data"]["title"] == "second life"


def test_paging_with_limit_visits_every_change_once(user: Any, user_client: Any) -> None:
    lists = [make_list(user=user) for _ in range(3)]
    for lst in lists:
        for _ in range(3):
            make_item(list=lst)

    first = pull(user_client, limit=5)
    assert first["has_more"] is True
    assert len(first["changes"]) == 5
    cursor, changes = pull_all(user_client, limit=5)

    assert len(changes) == 13  # the profile, 3 lists, 9 items
    assert len({c["id"] for c in changes}) == 13
    assert position(user, cursor) == Space.objects.get(user=user).last_change_number


def test_paging_an_incremental_sync_keeps_deletions_in_order(user: Any, user_client: Any) -> None:
    lst = make_list(user=user)
    items = [make_item(list=lst) for _ in range(6)]
    replica: dict[tuple[str, str], dict[str, Any]] = {}
    cursor, changes = pull_all(user_client)
    apply_changes(replica, changes)

    for item in items[:3]:
        item_delete(user=user, item_id=item.pk, base=BaseVersion(1))
    for item in items[3:]:
        item_update(user=user, item_id=item.pk, base=BaseVersion(1), data={"notes": "x"})
    _, changes = pull_all(user_client, cursor, limit=2)
    apply_changes(replica, changes)

    assert set(replica) == {
        ("profile", profile_id(user)),
        ("list", str(lst.pk)),
        *{("item", str(i.pk)) for i in items[3:]},
    }


def test_limit_is_clamped_and_must_be_a_positive_integer(user: Any, user_client: Any) -> None:
    make_list(user=user)
    assert user_client.get(SYNC_URL, {"limit": 5000}).status_code == 200
    for bad in ("abc", "0", "-1", "1.5"):
        response = user_client.get(SYNC_URL, {"limit": bad})
        assert response.status_code == 400
        assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize("cursor", ["abc", "-1", "1.5", "1e3", "99999999999999999999"])
def test_a_garbage_cursor_is_a_400(user_client: Any, cursor: str) -> None:
    response = user_client.get(SYNC_URL, {"cursor": cursor})

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_a_cursor_from_the_future_is_a_400(user: Any, user_client: Any) -> None:
    make_list(user=user)
    head = position(user, pull(user_client)["cursor"])

    response = user_client.get(SYNC_URL, {"cursor": head + 1})

    assert response.status_code == 400
    assert "cursor" in response.json()["errors"]


def test_a_cursor_older_than_what_was_pruned_is_a_410(user: Any, user_client: Any) -> None:
    for _ in range(3):
        make_list(user=user)
    Space.objects.filter(user=user).update(pruned_through=2)

    expired = user_client.get(SYNC_URL, {"cursor": 1})
    at_the_watermark = user_client.get(SYNC_URL, {"cursor": 2})

    assert expired.status_code == 410
    assert expired.json()["code"] == "cursor_expired"
    assert at_the_watermark.status_code == 200


def test_a_full_sync_after_a_prune_never_pages_into_an_expired_cursor(user: Any, user_client: Any) -> None:
    for _ in range(6):
        make_list(user=user)
    head = Space.objects.get(user=user).last_change_number
    Space.objects.filter(user=user).update(pruned_through=head - 2)

    first = pull(user_client, limit=2)
    cursor, changes = pull_all(user_client, limit=2)

    assert (
        position(user, first["cursor"]) >= head - 2
    )  # everything up to the watermark came in the first page
    assert len(changes) == 7  # the profile and 6 lists
    assert position(user, cursor) == head


def test_another_users_changes_never_appear(user: Any, user_client: Any, other_user: Any) -> None:
    make_item(list=make_list(user=other_user))
    mine = make_list(user=user)
    theirs = make_item(list=make_list(user=other_user))
    cursor = pull(user_client)["cursor"]
    item_delete(user=other_user, item_id=theirs.pk, base=BaseVersion(1))

    full = pull(user_client)["changes"]
    incremental = pull(user_client, cursor)["changes"]

    assert [c["id"] for c in full] == [profile_id(user), str(mine.pk)]
    assert incremental == []


def test_a_new_user_gets_only_their_profile(user: Any, user_client: Any) -> None:
    answer = pull(user_client)

    assert [c["type"] for c in answer["changes"]] == ["profile"]
    assert answer["has_more"] is False
    assert pull(user_client, answer["cursor"])["changes"] == []


def test_it_requires_authentication(api_client: Any) -> None:
    response = api_client.get(SYNC_URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert "WWW-Authenticate" in response


@pytest.mark.parametrize("page", [5, 500])
def test_the_feed_costs_the_same_queries_for_any_page_size(
    user: Any, user_client: Any, django_assert_num_queries: Any, page: int
) -> None:
    lst = make_list(user=user)
    items = [make_item(list=lst) for _ in range(12)]
    cursor = pull(user_client, limit=1)["cursor"]
    item_delete(user=user, item_id=items[0].pk, base=BaseVersion(1))
    assert len(registry.all_types()) >= 2  # list and item here; other apps register theirs too

    # The authenticated user comes from the cache (warm since the first pull). The sync state with, in the
    # same query, which types and whether tombstones have anything above the cursor; the types that have
    # (list and item: the first change is the profile); the tombstones, read with the prune watermark again.
    with django_assert_num_queries(1 + 2 + 1):
        response = user_client.get(SYNC_URL, {"cursor": cursor, "limit": page})
    assert response.status_code == 200
    # A full sync reads no tombstones: the state, one per type that has entities (the profile, the list,
    # the items).
    with django_assert_num_queries(1 + 3):
        assert user_client.get(SYNC_URL, {"limit": page}).status_code == 200


def test_an_incremental_sync_reads_only_the_types_that_changed(
    user: Any, user_client: Any, django_assert_num_queries: Any
) -> None:
    lst = make_list(user=user)
    make_item(list=lst)
    cursor = pull(user_client)["cursor"]
    item_update(user=user, item_id=make_item(list=lst).pk, base=BaseVersion(1), data={"title": "new"})

    # The user from the cache (warm since the first pull); the state with what is pending, the items; no
    # tombstones, so no prune re-check.
    with django_assert_num_queries(1 + 1):
        body = user_client.get(SYNC_URL, {"cursor": cursor}).json()
    assert [change["type"] for change in body["changes"]] == ["item"]
    # Nothing new: the state only.
    with django_assert_num_queries(1):
        assert user_client.get(SYNC_URL, {"cursor": body["cursor"]}).json()["changes"] == []


def test_an_integer_cursor_reads_the_personal_space_once_per_process(
    user: Any, user_client: Any, django_assert_num_queries: Any
) -> None:
    """API 1.0's integer cursors count in the personal space, whose id this process keeps once read (it
    never changes): an incremental sync with nothing new is the state's query alone, as with the opaque
    cursor."""
    make_list(user=user)
    head = Space.objects.get(user=user).last_change_number
    assert user_client.get(SYNC_URL, {"cursor": head}).status_code == 200  # the user and the space read

    with django_assert_num_queries(1):
        body = user_client.get(SYNC_URL, {"cursor": head}).json()
    assert body["changes"] == []
    # One change back: the state, and the lists.
    with django_assert_num_queries(1 + 1):
        body = user_client.get(SYNC_URL, {"cursor": head - 1}).json()
    assert [change["type"] for change in body["changes"]] == ["list"]


def test_a_personal_space_made_in_a_transaction_that_rolls_back_is_not_kept() -> None:
    """A user without a personal space (made before spaces, or by hand) gets one on a first write; read back
    in that transaction by another instance of the user, it is not kept for the process, so after a
    rollback the next write makes a space that exists instead of naming the one that rolled back."""
    user = User.objects.create(email="no-space@example.com")
    assert not Space.objects.filter(user=user).exists()
    with contextlib.suppress(RuntimeError), transaction.atomic():
        made = personal_space_id(user)
        assert personal_space_id(User.objects.get(pk=user.pk)) == made  # read back, not kept
        raise RuntimeError("the write fails")
    assert not Space.objects.filter(user=user).exists()

    again = personal_space_id(User.objects.get(pk=user.pk))
    assert Space.objects.filter(pk=again, user=user).exists()
