"""Items are found through space-qualified search keys on PostgreSQL (lists/search_index.py): a generated
`search_keys` column takes the GIN index that was on `search_vector`, so that a search reads the posting
lists of the user's own spaces only. Nothing changes on SQLite. Reversible.

Adding a stored generated column rewrites `lists_item` under an exclusive lock: on a large table plan it
as a maintenance step (docs/operations.md, "Search index")."""

from django.db import migrations

from lists import search_index


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    search_index.install_keys(schema_editor)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    search_index.uninstall_keys(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("lists", "0011_item_recurrence")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
