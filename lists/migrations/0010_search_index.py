"""The full-text index of lists and items (lists/search_index.py): a generated `tsvector` column with a GIN
index on PostgreSQL, an FTS5 table kept by triggers on SQLite. Reversible on both.

On PostgreSQL adding a stored generated column rewrites the table under an exclusive lock: on a large
`lists_item` plan it as a maintenance step (docs/operations.md, "Search index")."""

from django.db import migrations

from lists import search_index


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    search_index.install(schema_editor)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    search_index.uninstall(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("lists", "0009_item_due_time")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
