"""The bench's full sync reads of each page only its head and counts the items in the bytes
(`bench.load.sync_page`). It must give what parsing the page gives, on the pages the server writes, or the
bench would follow wrong cursors or pass with items missing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from bench.load import _PAGE_HEAD, sync_page
from tests.factories import ItemFactory, ListFactory

pytestmark = pytest.mark.django_db

# A title holding what an item's change starts with: JSON escapes its quotes, so it is not counted.
TRICKY = '{"type":"item","id":"'


def _parsed(data: bytes) -> tuple[str, bool, int]:
    page = json.loads(data)
    return page["cursor"], page["has_more"], sum(change["type"] == "item" for change in page["changes"])


def test_sync_page_reads_the_servers_pages_as_parsing_them_does(user_client: APIClient, user: Any) -> None:
    lists = [ListFactory.create(user=user, name=TRICKY) for _ in range(2)]
    for n in range(7):
        ItemFactory.create(list=lists[n % 2], user=user, title=TRICKY if n % 3 == 0 else f"item {n}")
    path = "/api/v1/sync?limit=4"
    pages = items = 0
    while True:
        response = user_client.get(path)
        assert response.status_code == 200
        data = response.content
        assert _PAGE_HEAD.match(data), data[:80]  # the fast path, not the fallback
        cursor, has_more, count = sync_page(data)
        assert (cursor, has_more, count) == _parsed(data)
        pages += 1
        items += count
        if not has_more:
            break
        path = f"/api/v1/sync?limit=4&cursor={cursor}"
    assert pages >= 3
    assert items == 7


def test_a_page_of_another_shape_is_parsed() -> None:
    changes = [{"type": "item", "id": "a"}, {"type": "list", "id": "b"}]
    data = json.dumps({"has_more": True, "cursor": "c1", "changes": changes}, indent=1).encode()
    assert _PAGE_HEAD.match(data) is None
    assert sync_page(data) == ("c1", True, 1)
