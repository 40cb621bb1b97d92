"""Recurring items: the rule and mode, the series an occurrence belongs to and its number there."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("lists", "0010_search_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="item",
            name="recurrence",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="item",
            name="series",
            field=models.UUIDField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="item",
            name="series_index",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name="item",
            constraint=models.CheckConstraint(
                condition=models.Q(("recurrence__isnull", True), ("due_date__isnull", False), _connector="OR"),
                name="item_recurrence_needs_date",
            ),
        ),
    ]
