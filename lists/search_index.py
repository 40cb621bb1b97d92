"""The full-text index of lists and items (docs/api/search.md), on each database the way it does it best.

PostgreSQL: a stored generated `tsvector` column on `lists_item` (title weighted A, notes B) and on
`lists_list` (name, A). The database keeps the columns current on every write, whatever wrote it
(services, sync push, import, COPY, admin), so they cannot go stale. The `simple` configuration (lower
case, no stemming, no stop words) is named explicitly: only then is the expression immutable, which a
generated column needs, and it reads every language alike. `lists_list.search_vector` has a GIN index.

Items are found through a second generated column, `search_keys`: the same words, each qualified by the
item's space (`17:bread`), without positions or weights, and the GIN index is on it. A GIN index answers a
query by reading the whole posting list of every word asked for, and with plain words that list holds
every user's items: a common word cost a user with five items what it cost one with a hundred thousand,
and grew with the whole table. Qualified by the space, a word's posting list holds one space's items, so
a search reads only what the user can see (for the spaces 1 and 17, `bread` asks for `1:bread | 17:bread`:
`daymark_search_keys_query`). `search_vector` stays for what needs positions and weights, checked on the
rows the index found: phrases, excluded words and ranking. A word too long to qualify (over 2,047 bytes
with its prefix, a tsvector's limit; the parser drops longer ones anyway) is left out of the keys: such an
item is not found by that word.

SQLite: one FTS5 table, `lists_search`, holding items (title, notes) and lists (name as title), so one
query ranks both with the same statistics. Triggers on `lists_item` and `lists_list` keep it current. Rows
are found by the entity's id through `lists_search_row` (kind, entity id -> FTS rowid), never by the rowid
of `lists_item`, which SQLite may renumber on VACUUM for a table without an integer primary key.

Django rebuilds an SQLite table (new table, copy, drop, rename) for most schema changes, and a dropped
table loses its triggers. `ensure_sqlite_index`, run after every `migrate`, puts missing triggers back and
rebuilds the index from the tables when it had to, so a later migration of either table cannot leave
search silently stale. On PostgreSQL, changing the type of `title`, `notes` or `name` needs the generated
column dropped and re-added around it (the database refuses otherwise, loudly).
"""

from __future__ import annotations

from typing import Any

# --- PostgreSQL --------------------------------------------------------------------------------------------

POSTGRES_FORWARD = [
    """
    ALTER TABLE lists_item ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', notes), 'B')
    ) STORED
    """,
    "CREATE INDEX lists_item_search ON lists_item USING gin (search_vector)",
    """
    ALTER TABLE lists_list ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', name), 'A')
    ) STORED
    """,
    "CREATE INDEX lists_list_search ON lists_list USING gin (search_vector)",
]

# Migration 0012: the space-qualified keys of items (above) replace the GIN index on `search_vector`.
# `daymark_search_keys` turns a tsvector into its space's keys; `daymark_search_keys_query` turns the
# tsquery of the words sought (never an excluded one: `!1:x` would say nothing of the other spaces) into
# the keys of each given space, ORed. Keys have no positions, so a phrase becomes its words ANDed (`<->`
# and `<N>` become `&`; the parser never puts `<` or `>` in a lexeme) and `search_vector @@` checks the
# phrase itself on the rows found. The query's text form quotes every lexeme (a quote doubled inside it),
# which is what the second replacement qualifies; `:*` stays outside the quotes, so a prefix stays one. A
# query without lexemes (words the parser drops, like `²`) stays empty: it matches nothing, as before.
POSTGRES_KEYS_FORWARD = [
    """
    CREATE FUNCTION daymark_search_keys(space bigint, doc tsvector) RETURNS tsvector
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT array_to_tsvector(ARRAY(
            SELECT space::text || ':' || lexeme FROM unnest(tsvector_to_array(doc)) AS lexeme
            WHERE octet_length(lexeme) + octet_length(space::text) < 2047  -- 2,047 bytes with the colon
        ))
    $$
    """,
    r"""
    CREATE FUNCTION daymark_search_keys_query(spaces bigint[], query tsquery) RETURNS tsquery
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT CASE WHEN numnode(query) = 0 THEN query ELSE coalesce((
            SELECT string_agg('(' || regexp_replace(
                regexp_replace(query::text, '<(?:-|[0-9]+)>', '&', 'g'),
                '''((?:[^'']|'''')*)''', '''' || space::text || ':\1''', 'g'
            ) || ')', ' | ')
            FROM unnest(spaces) AS space
        ), '')::tsquery END
    $$
    """,
    """
    ALTER TABLE lists_item ADD COLUMN search_keys tsvector GENERATED ALWAYS AS (
        daymark_search_keys(space_id, to_tsvector('simple', title) || to_tsvector('simple', notes))
    ) STORED
    """,
    "CREATE INDEX lists_item_search_keys ON lists_item USING gin (search_keys)",
    "DROP INDEX lists_item_search",
]

POSTGRES_KEYS_REVERSE = [
    "CREATE INDEX IF NOT EXISTS lists_item_search ON lists_item USING gin (search_vector)",
    "DROP INDEX IF EXISTS lists_item_search_keys",
    "ALTER TABLE lists_item DROP COLUMN IF EXISTS search_keys",
    "DROP FUNCTION IF EXISTS daymark_search_keys_query(bigint[], tsquery)",
    "DROP FUNCTION IF EXISTS daymark_search_keys(bigint, tsvector)",
]

# Migration 0013: both GIN indexes without the pending list. With `fastupdate` on (PostgreSQL's default)
# a GIN index appends new entries to an unsorted pending list, and every search reads that whole list,
# every user's recent writes, until VACUUM or its 4 MB limit moves it into the index: after 10,000 inserted
# items a rare word took about 3 ms instead of 1, a common one up to 4 ms more. Turned off, each write puts
# its keys in their place at once (up to some 20 microseconds an item more); setting it does not move what
# is already pending, so the migration cleans the lists once (docs/performance.md has the figures).
_GIN_INDEXES = ("lists_item_search_keys", "lists_list_search")
POSTGRES_NO_PENDING_FORWARD = [
    *(f"ALTER INDEX {index} SET (fastupdate = off)" for index in _GIN_INDEXES),
    *(f"SELECT gin_clean_pending_list('{index}'::regclass)" for index in _GIN_INDEXES),
]
POSTGRES_NO_PENDING_REVERSE = [f"ALTER INDEX {index} RESET (fastupdate)" for index in _GIN_INDEXES]

POSTGRES_REVERSE = [
    "DROP INDEX IF EXISTS lists_list_search",
    "ALTER TABLE lists_list DROP COLUMN IF EXISTS search_vector",
    "DROP INDEX IF EXISTS lists_item_search",
    "ALTER TABLE lists_item DROP COLUMN IF EXISTS search_vector",
]

# --- SQLite ------------------------------------------------------------------------------------------------

# No diacritics folding: PostgreSQL's `simple` configuration does not fold them either, and the same query
# finds the same items on both databases.
SQLITE_TABLES = [
    """
    CREATE VIRTUAL TABLE IF NOT EXISTS lists_search USING fts5(
        entity_id UNINDEXED, kind UNINDEXED, title, notes, tokenize = 'unicode61 remove_diacritics 0'
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS lists_search_row (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        UNIQUE (kind, entity_id)
    )
    """,
]

_ROW = "(SELECT id FROM lists_search_row WHERE kind = '{kind}' AND entity_id = {ref}.id)"


def _triggers(table: str, kind: str, title: str, notes: str) -> dict[str, str]:
    new_notes = f"new.{notes}" if notes else "''"
    changed = f"old.{title} IS NOT new.{title}" + (f" OR old.{notes} IS NOT new.{notes}" if notes else "")
    new_row = _ROW.format(kind=kind, ref="new")
    old_row = _ROW.format(kind=kind, ref="old")
    return {
        f"{table}_search_insert": f"""
            CREATE TRIGGER IF NOT EXISTS {table}_search_insert AFTER INSERT ON {table} BEGIN
                INSERT INTO lists_search_row (kind, entity_id) VALUES ('{kind}', new.id);
                INSERT INTO lists_search (rowid, entity_id, kind, title, notes)
                    VALUES ({new_row}, new.id, '{kind}', new.{title}, {new_notes});
            END
        """,
        f"{table}_search_update": f"""
            CREATE TRIGGER IF NOT EXISTS {table}_search_update AFTER UPDATE ON {table}
            WHEN {changed} BEGIN
                UPDATE lists_search SET title = new.{title}, notes = {new_notes} WHERE rowid = {old_row};
            END
        """,
        f"{table}_search_delete": f"""
            CREATE TRIGGER IF NOT EXISTS {table}_search_delete AFTER DELETE ON {table} BEGIN
                DELETE FROM lists_search WHERE rowid = {old_row};
                DELETE FROM lists_search_row WHERE kind = '{kind}' AND entity_id = old.id;
            END
        """,
    }


SQLITE_TRIGGERS = {
    **_triggers("lists_item", "item", "title", "notes"),
    **_triggers("lists_list", "list", "name", ""),
}

SQLITE_REBUILD = [
    "DELETE FROM lists_search",
    "DELETE FROM lists_search_row",
    "INSERT INTO lists_search_row (kind, entity_id) SELECT 'item', id FROM lists_item",
    "INSERT INTO lists_search_row (kind, entity_id) SELECT 'list', id FROM lists_list",
    """
    INSERT INTO lists_search (rowid, entity_id, kind, title, notes)
        SELECT r.id, i.id, 'item', i.title, i.notes
        FROM lists_item i JOIN lists_search_row r ON r.kind = 'item' AND r.entity_id = i.id
    """,
    """
    INSERT INTO lists_search (rowid, entity_id, kind, title, notes)
        SELECT r.id, l.id, 'list', l.name, ''
        FROM lists_list l JOIN lists_search_row r ON r.kind = 'list' AND r.entity_id = l.id
    """,
]

SQLITE_REVERSE = [
    *(f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS),
    "DROP TABLE IF EXISTS lists_search_row",
    "DROP TABLE IF EXISTS lists_search",
]


def ensure_sqlite_index(connection: Any, *, create: bool = False) -> bool:
    """Puts back what is missing of the SQLite index (all of it with `create`, else only where the index
    exists: a migration back to before it has removed it on purpose); when any trigger was missing,
    rebuilds the content from the tables, since writes made without the triggers are not in it. True when
    it rebuilt."""
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        if not {"lists_item", "lists_list"} <= tables or not (create or "lists_search" in tables):
            return False
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {row[0] for row in cursor.fetchall()}
        missing = set(SQLITE_TRIGGERS) - present
        if not missing and "lists_search" in tables:
            return False
        for statement in SQLITE_TABLES:
            cursor.execute(statement)
        for statement in SQLITE_REBUILD:
            cursor.execute(statement)
        for name in sorted(missing):
            cursor.execute(SQLITE_TRIGGERS[name])
    return True


def _postgres(schema_editor: Any, statements: list[str]) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in statements:
            schema_editor.execute(statement)


def install(schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRES_FORWARD:
            schema_editor.execute(statement)
    elif schema_editor.connection.vendor == "sqlite":
        ensure_sqlite_index(schema_editor.connection, create=True)


def install_keys(schema_editor: Any) -> None:
    _postgres(schema_editor, POSTGRES_KEYS_FORWARD)


def uninstall_keys(schema_editor: Any) -> None:
    _postgres(schema_editor, POSTGRES_KEYS_REVERSE)


def without_pending_list(schema_editor: Any) -> None:
    _postgres(schema_editor, POSTGRES_NO_PENDING_FORWARD)


def with_pending_list(schema_editor: Any) -> None:
    _postgres(schema_editor, POSTGRES_NO_PENDING_REVERSE)


def uninstall(schema_editor: Any) -> None:
    statements = {"postgresql": POSTGRES_REVERSE, "sqlite": SQLITE_REVERSE}.get(
        schema_editor.connection.vendor, []
    )
    for statement in statements:
        schema_editor.execute(statement)
