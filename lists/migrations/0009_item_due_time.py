"""An item's due time (a wall-clock time on its due date), never without the date."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("lists", "0008_list_workspace"),
    ]

    operations = [
        migrations.AddField(
            model_name="item",
            name="due_time",
            field=models.TimeField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name="item",
            constraint=models.CheckConstraint(
                condition=models.Q(("due_time__isnull", True), ("due_date__isnull", False), _connector="OR"),
                name="item_due_time_needs_date",
            ),
        ),
    ]
