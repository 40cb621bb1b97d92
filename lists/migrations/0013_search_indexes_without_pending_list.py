"""Both GIN indexes of search without the pending list on PostgreSQL (lists/search_index.py): every
search read the whole list of every user's recent writes until VACUUM moved it into the index. The
pending entries there now are moved once. Nothing changes on SQLite. Reversible.

`ALTER INDEX ... SET` takes a brief exclusive lock on the index; cleaning the pending list is as long as
the list (at most 4 MB by default)."""

from django.db import migrations

from lists import search_index


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    search_index.without_pending_list(schema_editor)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    search_index.with_pending_list(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("lists", "0012_search_keys")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
