"""Full-text search of lists and items (docs/api/search.md): the query syntax, the items `q` filter and
the ranked search behind `GET search`, on the index of lists/search_index.py.

The syntax: words separated by spaces must all match, in any order and case; `"a phrase"` matches those
words one after another; `-word` and `-"a phrase"` exclude; the last word, when it is a plain word, also
matches as a prefix (`plan` finds "planning", for search as the user types). A word is anything between
spaces; only its letters and digits count, so a word of punctuation alone is ignored. An unclosed quote
runs to the end of the query, its last word a prefix too. Each database tokenizes the words the way it
tokenized the text, so `e-mail` finds "e-mail" on both.

The query becomes bound parameters of one expression (a `tsquery` on PostgreSQL, an FTS5 MATCH string on
SQLite); user text is never spliced into SQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from core.models import User
from core.problems import validation_error
from sync.spaces import visible_space_ids, visible_spaces_sql

MAX_QUERY_LENGTH = 500
# On PostgreSQL, items are ranked among at most this many of their matches (_postgres_search).
RANK_CANDIDATES = 2_000
TYPES = ("item", "list")
# Letters or digits: a word without any is punctuation, which neither database indexes.
_SEARCHABLE = re.compile(r"[^\W_]")
# Relative weights of a match in the title and in the notes (PostgreSQL's A and B weights are 1.0 and 0.4).
_SQLITE_WEIGHTS = "0.0, 0.0, 2.5, 1.0"  # entity_id, kind, title, notes
_SNIPPET_WORDS = 16
_PG_HEADLINE = (
    f"StartSel=«, StopSel=», MaxWords={_SNIPPET_WORDS}, MinWords=6, ShortWord=0, MaxFragments=2, "
    'FragmentDelimiter=" … "'
)


@dataclass(frozen=True)
class Term:
    text: str
    phrase: bool = False  # written in quotes
    excluded: bool = False
    prefix: bool = False


@dataclass(frozen=True)
class Query:
    terms: tuple[Term, ...]


def parse(raw: str | None, *, field: str = "q") -> Query:
    """The query of `raw`, or a 400 naming `field`: empty, longer than 500 characters, a NUL byte, or
    nothing to look for (only punctuation, or only excluded words)."""
    if raw is None or not raw.strip():
        raise validation_error({field: ["Must not be empty."]})
    if len(raw) > MAX_QUERY_LENGTH:
        raise validation_error({field: [f"At most {MAX_QUERY_LENGTH} characters."]})
    if "\x00" in raw:
        raise validation_error({field: ["Must not contain NUL bytes."]})
    terms = [term for term in _scan(raw) if _SEARCHABLE.search(term.text)]
    if not any(not term.excluded for term in terms):
        raise validation_error({field: ["Give at least one word to find (letters or digits, not excluded)."]})
    # Only the last term is a prefix: a plain word, or a phrase still being typed (its quote unclosed).
    terms = [replace(term, prefix=False) for term in terms[:-1]] + terms[-1:]
    last = terms[-1]
    if not (last.phrase or last.excluded):
        terms[-1] = replace(last, prefix=True)
    return Query(tuple(terms))


def _scan(raw: str) -> Iterable[Term]:
    position, end = 0, len(raw)
    while position < end:
        if raw[position].isspace():
            position += 1
            continue
        excluded = raw[position] == "-"
        if excluded:
            position += 1
        if position < end and raw[position] == '"':
            closing = raw.find('"', position + 1)
            stop = end if closing == -1 else closing
            unclosed = closing == -1 and not excluded
            yield Term(raw[position + 1 : stop], phrase=True, excluded=excluded, prefix=unclosed)
            position = stop + 1
            continue
        start = position
        while position < end and not raw[position].isspace():
            position += 1
        yield Term(raw[start:position], excluded=excluded)


# --- PostgreSQL: a tsquery ---------------------------------------------------------------------------------


def _tsquery(query: Query) -> tuple[str, list[str]]:
    """The tsquery expression and its parameters. Every word goes through the same parser as the indexed
    text (`phraseto_tsquery`: a word the parser splits, like `e-mail`, must match as written); the prefix
    word is a quoted lexeme with `:*` for `to_tsquery`, quoted so that no character of it is an operator."""
    parts: list[str] = []
    params: list[str] = []
    for term in query.terms:
        if term.prefix:
            # A phrase being typed: its words before the last as a phrase, followed by the last as a prefix.
            *words, last = term.text.split()
            head = " ".join(words)
            escaped = last.replace("\\", "\\\\").replace("'", "''")
            sql = "to_tsquery('simple', %s)"
            if _SEARCHABLE.search(head):
                sql = f"tsquery_phrase(phraseto_tsquery('simple', %s), {sql})"
                params.append(head)
            params.append(f"'{escaped}':*")
        else:
            sql = "phraseto_tsquery('simple', %s)"
            params.append(term.text)
        parts.append(f"(!!{sql})" if term.excluded else sql)
    return "(" + " && ".join(parts) + ")", params


def _keys_tsquery(query: Query, spaces_sql: str, spaces_params: list[Any]) -> tuple[str, list[Any]]:
    """The tsquery of the index's space-qualified keys (lists/search_index.py): the words sought, in each
    of the spaces (`spaces_sql`, a bigint array), phrases as their words ANDed. Excluded words are not
    in it (the rows found are checked against the whole query)."""
    sought, params = _tsquery(Query(tuple(term for term in query.terms if not term.excluded)))
    return f"daymark_search_keys_query({spaces_sql}::bigint[], {sought})", [*spaces_params, *params]


# --- SQLite: an FTS5 query ---------------------------------------------------------------------------------


def _fts5(query: Query) -> str:
    """Every term as an FTS5 string (double quotes doubled), which FTS5 tokenizes like the text and reads
    as a phrase; the prefix word gets `*`. NOT binds tighter than AND in FTS5, hence the parentheses."""

    def string(term: Term) -> str:
        return '"' + term.text.replace('"', '""') + '"' + ("*" if term.prefix else "")

    wanted = " AND ".join(string(term) for term in query.terms if not term.excluded)
    unwanted = "".join(f" NOT {string(term)}" for term in query.terms if term.excluded)
    return f"({wanted}){unwanted}"


# --- the items `q` filter ----------------------------------------------------------------------------------


def filter_items(queryset: QuerySet, query: Query, user: User) -> QuerySet:
    """The items of `queryset` that match (the page's own ordering and pagination stay). On PostgreSQL the
    keys of `user`'s spaces are asked for, those spaces read by a subquery of the same statement (the
    page has read them once already; a second round trip would cost more than the subquery)."""
    if connection.vendor == "postgresql":
        spaces_sql, spaces_params = visible_spaces_sql(user)
        keys, keys_params = _keys_tsquery(query, f"ARRAY({spaces_sql})", list(spaces_params))
        sql, params = _tsquery(query)
        table = queryset.model._meta.db_table
        matches = RawSQL(
            f'"{table}"."search_keys" @@ {keys} AND "{table}"."search_vector" @@ {sql}',
            [*keys_params, *params],
            output_field=BooleanField(),
        )
        return queryset.filter(matches)
    ids = RawSQL(
        "SELECT entity_id FROM lists_search WHERE lists_search MATCH %s AND kind = 'item'", [_fts5(query)]
    )
    return queryset.filter(id__in=ids)


# --- GET search --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    type: str
    id: Any
    title: str
    snippet: str
    list: Any
    workspace: Any
    score: float


def search(*, user: User, query: Query, types: Sequence[str] = TYPES, limit: int = 20) -> list[Hit]:
    """What `user` can see now (their personal space and their workspaces' spaces, as `for_user` reads
    them) that matches, best first: two queries, the spaces and the ranked matches with their snippets."""
    spaces = visible_space_ids(user)
    if not spaces or not types:
        return []
    if connection.vendor == "postgresql":
        sql, params = _postgres_search(query, spaces, types, limit)
    else:
        sql, params = _sqlite_search(query, spaces, types, limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    item_field, list_field = _id_field("item"), _id_field("list")
    return [
        Hit(
            type=kind,
            id=(item_field if kind == "item" else list_field).to_python(entity_id),
            title=title,
            snippet=snippet or title,
            list=list_field.to_python(list_id) if list_id is not None else None,
            workspace=_id_field("workspace").to_python(workspace) if workspace is not None else None,
            score=round(float(score), 6),
        )
        for kind, entity_id, title, list_id, workspace, score, snippet in rows
    ]


def _id_field(kind: str) -> Any:
    from lists.models import Item, List

    if kind == "workspace":
        return List._meta.get_field("workspace").target_field
    return (Item if kind == "item" else List)._meta.pk


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def _postgres_search(
    query: Query, spaces: Sequence[int], types: Sequence[str], limit: int
) -> tuple[str, list[Any]]:
    """Each type's best `limit` by `ts_rank`, merged. Items are found by the keys of the user's spaces
    (the GIN index reads those spaces' posting lists only), checked against the whole query on each row
    (phrases, excluded words), and ranked among at most `RANK_CANDIDATES` of their matches (ranking reads
    each one's vector), so a query matching tens of thousands of items costs what one matching a few
    thousand does. The list of each item (for its workspace) and the snippets (`ts_headline`, which
    re-reads the text) are read only for the rows answered. Ranking weighs the words sought, not the
    excluded ones."""
    match, match_params = _tsquery(query)
    rank, rank_params = _tsquery(Query(tuple(t for t in query.terms if not t.excluded)))
    in_spaces = _placeholders(spaces)
    keys, keys_params = _keys_tsquery(query, f"ARRAY[{in_spaces}]", list(spaces))
    parts: list[str] = []
    params: list[Any] = []
    if "item" in types:
        parts.append(
            f"""(SELECT 'item' AS kind, c.id, c.title, c.notes AS body, c.list_id,
                        ts_rank(c.search_vector, {rank}) AS score
                 FROM (SELECT id, title, notes, list_id, search_vector FROM lists_item
                       WHERE search_keys @@ {keys} AND search_vector @@ {match}
                         AND space_id IN ({in_spaces}) LIMIT %s) AS c
                 ORDER BY score DESC, c.id LIMIT %s)"""
        )
        params += [*rank_params, *keys_params, *match_params, *spaces, RANK_CANDIDATES, limit]
    if "list" in types:
        parts.append(
            f"""(SELECT 'list' AS kind, l.id, l.name AS title, '' AS body, NULL::uuid AS list_id,
                        ts_rank(l.search_vector, {rank}) AS score
                 FROM lists_list l
                 WHERE l.search_vector @@ {match} AND l.space_id IN ({in_spaces})
                 ORDER BY score DESC, l.id LIMIT %s)"""
        )
        params += [*rank_params, *match_params, *spaces, limit]
    union = " UNION ALL ".join(parts)
    sql = f"""
        SELECT best.kind, best.id, best.title, best.list_id, place.workspace_id, best.score,
               ts_headline('simple', CASE WHEN body = '' THEN title ELSE title || ' … ' || body END,
                           {match}, %s)
        FROM (SELECT * FROM ({union}) AS hits ORDER BY score DESC, kind, id LIMIT %s) AS best
        JOIN lists_list place ON place.id = COALESCE(best.list_id, best.id)
        ORDER BY best.score DESC, best.kind, best.id
    """
    return sql, [*match_params, _PG_HEADLINE, *params, limit]


def _sqlite_search(
    query: Query, spaces: Sequence[int], types: Sequence[str], limit: int
) -> tuple[str, list[Any]]:
    """One FTS5 query over items and lists: bm25 (lower is better, so negated) and FTS5's snippet."""
    kinds = [kind for kind in TYPES if kind in types]
    sql = f"""
        SELECT f.kind, f.entity_id, COALESCE(i.title, l.name), i.list_id, l.workspace_id,
               -bm25(lists_search, {_SQLITE_WEIGHTS}) AS score,
               snippet(lists_search, -1, '«', '»', '…', {_SNIPPET_WORDS})
        FROM lists_search f
        LEFT JOIN lists_item i ON f.kind = 'item' AND i.id = f.entity_id
        JOIN lists_list l ON l.id = CASE WHEN f.kind = 'item' THEN i.list_id ELSE f.entity_id END
        WHERE lists_search MATCH %s AND f.kind IN ({_placeholders(kinds)})
          AND COALESCE(i.space_id, l.space_id) IN ({_placeholders(spaces)})
        ORDER BY score DESC, f.kind, f.entity_id
        LIMIT %s
    """
    return sql, [_fts5(query), *kinds, *spaces, limit]
