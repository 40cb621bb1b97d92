"""`created_by` and `completed_by` of the items made before they existed. Those items were all personal,
so their creator is their owner, and so is the completer of a done one. Its own migration: the columns'
indexes and constraints of 0006 are created when that one ends, which PostgreSQL refuses on a table with
rows updated in the same transaction. Reversing leaves the values (0006's reversal drops the columns)."""

from django.db import migrations, models


def backfill(apps, schema_editor):
    Item = apps.get_model("lists", "Item")
    Item.objects.filter(created_by__isnull=True).update(created_by=models.F("user"))
    Item.objects.filter(status="done", completed_by__isnull=True).update(completed_by=models.F("user"))


class Migration(migrations.Migration):
    dependencies = [("lists", "0006_item_people")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
