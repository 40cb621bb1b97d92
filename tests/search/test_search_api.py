"""`GET search` and the items `q` filter on the database in use (the suite runs on SQLite and PostgreSQL):
the query syntax, ranking, snippets, and never anything the user cannot see now."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from lists.models import Item, List
from tests.conftest import client_for, migrate_to
from tests.factories import ItemFactory, ListFactory, MemberFactory, UserFactory, WorkspaceFactory
from workspaces.services import member_leave

pytestmark = pytest.mark.django_db


def found(client: APIClient, q: str, **params: Any) -> list[str]:
    response = client.get("/api/v1/search", {"q": q, **params})
    assert response.status_code == 200, response.content
    return [row["title"] for row in response.json()["results"]]


def filtered(client: APIClient, q: str) -> set[str]:
    response = client.get("/api/v1/items", {"q": q})
    assert response.status_code == 200, response.content
    return {row["title"] for row in response.json()["results"]}


@pytest.fixture
def home(user: User) -> List:
    return ListFactory.create(user=user, name="Home")


@pytest.fixture
def items(home: List) -> dict[str, Item]:
    made = {
        "buy": ItemFactory.create(list=home, title="Buy fresh bread", notes="From the baker on Main street"),
        "recipe": ItemFactory.create(list=home, title="Bread recipe", notes="Flour, water, salt"),
        "call": ItemFactory.create(list=home, title="Call the plumber", notes="Answer his e-mail first"),
        "meeting": ItemFactory.create(list=home, title="Planning meeting"),
        "trip": ItemFactory.create(list=home, title="Plan the trip", notes="Café near the station"),
    }
    # Items that match nothing, so that every word above is rare (as in real data, which ranking assumes).
    for n in range(6):
        ItemFactory.create(list=home, title=f"Unrelated chore {n}")
    return made


SYNTAX = [
    ("bread", {"Buy fresh bread", "Bread recipe"}),
    ("BREAD buy", {"Buy fresh bread"}),  # every word, any order, any case
    ('"fresh bread"', {"Buy fresh bread"}),
    ('"bread fresh"', set()),  # a phrase keeps its order
    ("bread -recipe", {"Buy fresh bread"}),
    ('bread -"fresh bread"', {"Bread recipe"}),
    ("plan", {"Planning meeting", "Plan the trip"}),  # the last word is also a prefix
    ("planning meet", {"Planning meeting"}),
    ("plan meet", set()),  # `plan` is not last: a whole word
    ("meeting plan", {"Planning meeting"}),
    ("plan trip", {"Plan the trip"}),  # ...only the last: `plan` alone is a whole word here
    ("planning trip", set()),
    ("baker", {"Buy fresh bread"}),  # notes count
    ("salt flour", {"Bread recipe"}),
    ("e-mail", {"Call the plumber"}),
    ("café", {"Plan the trip"}),
    ("chore -unrelated", set()),
    ('"fresh bre', {"Buy fresh bread"}),  # an unclosed quote: a phrase being typed, its last word a prefix
    ('"fresh bre" milk', set()),  # a closed one is whole words
    ("bread!", {"Buy fresh bread", "Bread recipe"}),  # punctuation is not part of a word
]


@pytest.mark.parametrize(("q", "expected"), SYNTAX)
def test_the_query_syntax(user_client: APIClient, items: dict[str, Item], q: str, expected: set[str]) -> None:
    assert set(found(user_client, q)) == expected
    assert filtered(user_client, q) == expected


def test_a_title_match_ranks_above_a_notes_match(user_client: APIClient, home: List) -> None:
    ItemFactory.create(list=home, title="Errand", notes="Return the garden hose")
    ItemFactory.create(list=home, title="Garden hose")
    for n in range(6):
        ItemFactory.create(list=home, title=f"Unrelated chore {n}")
    answer = user_client.get("/api/v1/search", {"q": "hose"}).json()["results"]
    assert [row["title"] for row in answer] == ["Garden hose", "Errand"]
    assert answer[0]["score"] > answer[1]["score"] > 0


def test_snippets_mark_the_matching_words(user_client: APIClient, items: dict[str, Item]) -> None:
    (hit,) = user_client.get("/api/v1/search", {"q": "baker"}).json()["results"]
    assert "«baker»" in hit["snippet"]
    (hit,) = user_client.get("/api/v1/search", {"q": "pipe OR plumb"}).json()["results"] or [None]
    assert hit is None
    (hit,) = user_client.get("/api/v1/search", {"q": "plumb"}).json()["results"]
    assert "«plumber»" in hit["snippet"]


def test_it_answers_items_and_lists_with_their_places(
    user_client: APIClient, user: User, items: dict[str, Item], home: List
) -> None:
    workspace = WorkspaceFactory.create(user=user)
    shared = ListFactory.create(user=user, name="Home repairs", workspace=workspace.pk)
    fix = ItemFactory.create(list=shared, title="Fix the home boiler")
    rows = user_client.get("/api/v1/search", {"q": "home"}).json()["results"]
    by_title = {row["title"]: row for row in rows}
    assert set(by_title) == {"Home", "Home repairs", "Fix the home boiler"}
    assert by_title["Home"] | {"score": 0, "snippet": ""} == {
        "type": "list",
        "id": str(home.pk),
        "title": "Home",
        "snippet": "",
        "list": None,
        "workspace": None,
        "score": 0,
    }
    assert by_title["Fix the home boiler"]["type"] == "item"
    assert by_title["Fix the home boiler"]["id"] == str(fix.pk)
    assert by_title["Fix the home boiler"]["list"] == str(shared.pk)
    assert by_title["Fix the home boiler"]["workspace"] == str(workspace.pk)
    assert by_title["Home repairs"]["workspace"] == str(workspace.pk)
    assert found(user_client, "home", types="item") == ["Fix the home boiler"]
    assert set(found(user_client, "home", types="list")) == {"Home", "Home repairs"}
    assert len(found(user_client, "home", limit=1)) == 1


def test_another_users_data_is_never_found(user_client: APIClient, other_user: User, items: Any) -> None:
    others = ListFactory.create(user=other_user, name="Bread shop")
    ItemFactory.create(list=others, title="Bread for the other user")
    assert set(found(user_client, "bread")) == {"Buy fresh bread", "Bread recipe"}
    assert filtered(user_client, "bread") == {"Buy fresh bread", "Bread recipe"}
    assert set(found(client_for(other_user), "bread")) == {"Bread shop", "Bread for the other user"}


def test_a_workspace_is_searched_while_the_user_is_a_member_and_never_after(user: User) -> None:
    owner = UserFactory.create()
    workspace = WorkspaceFactory.create(user=owner)
    MemberFactory.create(workspace=workspace, user=user)
    shared = ListFactory.create(user=owner, name="Team", workspace=workspace.pk)
    ItemFactory.create(list=shared, title="Quarterly report")
    client = client_for(user)
    assert found(client, "quarterly") == ["Quarterly report"]
    assert filtered(client, "quarterly") == {"Quarterly report"}
    member_leave(user=user, workspace_id=workspace.pk)
    assert found(client, "quarterly") == []
    assert found(client, "team") == []
    assert filtered(client, "quarterly") == set()


def test_a_moved_item_is_found_only_where_the_user_can_see_it(user: User) -> None:
    owner = UserFactory.create()
    workspace = WorkspaceFactory.create(user=owner)
    MemberFactory.create(workspace=workspace, user=user)
    shared = ListFactory.create(user=owner, workspace=workspace.pk)
    private = ListFactory.create(user=owner)
    item = ItemFactory.create(list=shared, title="Quarterly report")
    client, owners = client_for(user), client_for(owner)
    assert found(client, "quarterly") == ["Quarterly report"]
    moved = owners.patch(
        f"/api/v1/items/{item.pk}", {"list": str(private.pk), "version": item.version}, format="json"
    )
    assert moved.status_code == 200, moved.content
    assert found(client, "quarterly") == []
    assert filtered(client, "quarterly") == set()
    assert found(owners, "quarterly") == ["Quarterly report"]


def test_the_query_syntax_holds_across_the_users_spaces(user: User, user_client: APIClient) -> None:
    # On PostgreSQL each space's words are indexed apart (lists/search_index.py): a query asks for them in
    # each of the user's spaces, and its phrases, prefix and exclusions are checked on what it found.
    own = ListFactory.create(user=user)
    owner = UserFactory.create()
    workspace = WorkspaceFactory.create(user=owner)
    MemberFactory.create(workspace=workspace, user=user)
    shared = ListFactory.create(user=owner, workspace=workspace.pk)
    for place in (own, shared):
        ItemFactory.create(list=place, title=f"Fresh bread for {place.pk}", notes="and some milk")
        ItemFactory.create(list=place, title=f"Bread fresh from {place.pk}")
        ItemFactory.create(list=place, title=f"Fresh bread only {place.pk}")
    cases = {
        '"fresh bread"': 4,
        '"fresh bread" -milk': 2,
        "bread fre": 6,
        '"bread fre': 2,
        'bread -"fresh bread"': 2,
        "bread -milk": 4,
    }
    for q, count in cases.items():
        rows = user_client.get("/api/v1/search", {"q": q, "types": "item"}).json()["results"]
        assert len(rows) == count, q
        assert {row["list"] for row in rows} == {str(own.pk), str(shared.pk)}, q
        assert len(filtered(user_client, q)) == count, q


@pytest.mark.postgres
def test_on_postgresql_an_items_keys_are_its_words_in_its_space(user: User, user_client: APIClient) -> None:
    from django.db import connection

    def keys(item: Item) -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT tsvector_to_array(search_keys) FROM lists_item WHERE id = %s", [item.pk])
            return set(cursor.fetchone()[0])

    own = ListFactory.create(user=user)
    workspace = WorkspaceFactory.create(user=user)
    shared = ListFactory.create(user=user, workspace=workspace.pk)
    item = ItemFactory.create(list=own, title="Fresh bread", notes="From the baker")
    assert keys(item) == {f"{own.space_id}:{word}" for word in ("fresh", "bread", "from", "the", "baker")}
    moved = user_client.patch(
        f"/api/v1/items/{item.pk}", {"list": str(shared.pk), "version": item.version}, format="json"
    )
    assert moved.status_code == 200, moved.content
    assert keys(item) == {f"{shared.space_id}:{word}" for word in ("fresh", "bread", "from", "the", "baker")}
    assert found(user_client, "baker") == ["Fresh bread"]


def test_a_word_as_long_as_the_index_takes_is_saved_and_the_others_found(
    user_client: APIClient, home: List
) -> None:
    # PostgreSQL indexes words up to 2,047 bytes; qualified by its space such a word would be too long for
    # the keys, which leave it out rather than refuse the write.
    created = user_client.post(
        "/api/v1/items",
        {"list": str(home.pk), "title": "Long notes", "notes": "x" * 2047 + " bread"},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert found(user_client, "bread") == ["Long notes"]


def test_renamed_and_deleted_items_are_found_as_they_are_now(
    user_client: APIClient, items: dict[str, Item]
) -> None:
    recipe = items["recipe"]
    renamed = user_client.patch(
        f"/api/v1/items/{recipe.pk}", {"title": "Sourdough", "version": recipe.version}, format="json"
    )
    assert renamed.status_code == 200
    assert found(user_client, "bread") == ["Buy fresh bread"]
    assert found(user_client, "sourdough") == ["Sourdough"]
    assert found(user_client, "flour") == ["Sourdough"]  # notes kept
    buy = items["buy"]
    assert user_client.delete(f"/api/v1/items/{buy.pk}?version={buy.version}").status_code == 204
    assert found(user_client, "bread") == []
    assert found(user_client, "baker") == []


def test_a_deleted_list_takes_its_items_out_of_search(
    user_client: APIClient, home: List, items: dict[str, Item]
) -> None:
    home.refresh_from_db()
    assert user_client.delete(f"/api/v1/lists/{home.pk}?version={home.version}").status_code == 204
    assert found(user_client, "bread") == []
    assert found(user_client, "home") == []


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "   "},
        {"q": "x" * 501},
        {"q": "-bread"},
        {"q": "..."},
        {"q": "bread", "types": "item,task"},
        {"q": "bread", "limit": "0"},
        {"q": "bread", "limit": "ten"},
        {"q": "bread", "limit": ""},
    ],
)
def test_bad_queries_are_problems(user_client: APIClient, params: dict[str, str]) -> None:
    response = user_client.get("/api/v1/search", params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize("q", ["x" * 501, "-bread", "..."])
def test_a_bad_items_q_is_a_problem(user_client: APIClient, q: str) -> None:
    response = user_client.get("/api/v1/items", {"q": q})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_the_limit_is_clamped_to_a_hundred(user_client: APIClient, home: List) -> None:
    Item.objects.bulk_create(
        [Item(user=home.user, space=home.space, list=home, title=f"chore {n}") for n in range(105)]
    )
    assert len(found(user_client, "chore", limit=1000)) == 100
    assert len(found(user_client, "chore")) == 20


def test_search_requires_authentication(api_client: APIClient) -> None:
    assert api_client.get("/api/v1/search", {"q": "bread"}).status_code == 401


class TestQueryCounts:
    @pytest.mark.parametrize("size", [3, 60])
    def test_search_costs_the_same_whatever_it_finds(
        self, user_client: APIClient, home: List, size: int, django_assert_num_queries: Any
    ) -> None:
        Item.objects.bulk_create(
            [Item(user=home.user, space=home.space, list=home, title=f"chore {n}") for n in range(size)]
        )
        # 1: the authenticated user (JWT), 2: the spaces the user sees, 3: the ranked matches of both types
        # with their snippets.
        with django_assert_num_queries(3):
            response = user_client.get("/api/v1/search?q=chore&limit=100")
        assert len(response.json()["results"]) == size

    def test_the_items_q_filter_adds_no_query(
        self, user_client: APIClient, home: List, django_assert_num_queries: Any
    ) -> None:
        Item.objects.bulk_create(
            [Item(user=home.user, space=home.space, list=home, title=f"chore {n}") for n in range(30)]
        )
        # 1: the authenticated user (JWT), 2: the spaces the user sees, 3: the page of matching items.
        with django_assert_num_queries(3):
            response = user_client.get("/api/v1/items?q=chore")
        assert len(response.json()["results"]) == 30


def test_excluded_words_do_not_count_in_the_score(user_client: APIClient, items: dict[str, Item]) -> None:
    (hit,) = user_client.get("/api/v1/search", {"q": "bread -recipe"}).json()["results"]
    (alone,) = [
        r for r in user_client.get("/api/v1/search", {"q": "bread"}).json()["results"] if r["id"] == hit["id"]
    ]
    assert hit["score"] == alone["score"] > 0


@pytest.mark.postgres
def test_on_postgresql_items_are_ranked_among_a_bounded_number_of_matches(
    user_client: APIClient, home: List, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A common word can match tens of thousands of items; ranking reads each match, so it is bounded.
    monkeypatch.setattr("lists.search.RANK_CANDIDATES", 5)
    for n in range(8):
        ItemFactory.create(list=home, title=f"Chore {n}")
    assert len(found(user_client, "chore", types="item")) == 5
    assert len(found(user_client, "chore", types="item", limit=3)) == 3


@pytest.mark.parametrize(
    "q",
    [
        *(
            "it's",
            "a\\b",
            "bread:* | milk",
            "(bread",
            "bread)",
            "NEAR(bread milk)",
            "bread*",
            "'",
            "\\",
            '""x',
        ),
        # A digit Python counts but PostgreSQL's parser drops: a query with no lexeme at all, or beside one.
        *("²", "bread ²", '"²"', "² -milk"),
    ],
)
def test_operators_of_either_database_are_plain_characters(
    user_client: APIClient, items: dict[str, Item], q: str
) -> None:
    response = user_client.get("/api/v1/search", {"q": q})
    assert response.status_code in (200, 400), response.content
    assert user_client.get("/api/v1/items", {"q": q}).status_code == response.status_code
    if "bread" in q:
        assert response.status_code == 200
        assert set(found(user_client, q)) <= {"Buy fresh bread", "Bread recipe"}


def test_the_answer_is_what_the_documented_serializer_writes(
    user: User, user_client: APIClient, home: List
) -> None:
    from dataclasses import asdict

    from lists import search
    from search.serializers import SearchResultSerializer

    workspace = WorkspaceFactory.create(user=user)
    shared = ListFactory.create(user=user, name="Home things", workspace=workspace.pk)
    ItemFactory.create(list=home, title="Home chore", notes="at home")
    ItemFactory.create(list=shared, title="Shared home chore")
    hits = search.search(user=user, query=search.parse("home"))
    assert {(hit.type, hit.workspace is None) for hit in hits} == {
        ("item", True),
        ("item", False),
        ("list", True),
        ("list", False),
    }
    answered = user_client.get("/api/v1/search", {"q": "home"}).json()["results"]
    assert answered == [SearchResultSerializer(asdict(hit)).data for hit in hits]


def _pending_pages_moved() -> dict[str, int]:
    """Moves each search index's pending list into the index and says how many pages it held."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT gin_clean_pending_list('lists_item_search_keys'::regclass),"
            " gin_clean_pending_list('lists_list_search'::regclass)"
        )
        items, lists = cursor.fetchone()
    return {"items": items, "lists": lists}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_writes_go_straight_into_the_search_indexes(user: User) -> None:
    # A GIN index's pending list is read by every search, whoever wrote it: the indexes have none
    # (migration 0013), checked with and without it so that the check can fail.
    from django.db import connection

    def write_some() -> None:
        a_list = ListFactory.create(user=user, name="Groceries")
        ItemFactory.create_batch(20, list=a_list, title="Fresh bread", notes="From the baker")

    write_some()
    assert _pending_pages_moved() == {"items": 0, "lists": 0}
    try:
        migrate_to([("lists", "0012_search_keys")])
        write_some()
        pending = _pending_pages_moved()
        assert pending["items"] > 0, pending
        assert pending["lists"] > 0, pending
    finally:
        migrate_to()
    write_some()
    assert _pending_pages_moved() == {"items": 0, "lists": 0}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class"
            " WHERE relname IN ('lists_item_search_keys', 'lists_list_search')"
        )
        assert dict(cursor.fetchall()) == {
            "lists_item_search_keys": ["fastupdate=off"],
            "lists_list_search": ["fastupdate=off"],
        }
