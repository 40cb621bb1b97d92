"""Every synced entity lives in a space: the existing rows go to their owner's personal space, keeping
their change numbers (which were the owner's counter, now the personal space's)."""

import django.db.models.deletion
from django.db import migrations, models


def into_personal_spaces(apps, schema_editor):
    Space = apps.get_model("sync", "Space")
    personal = Space.objects.filter(user_id=models.OuterRef("user_id")).values("pk")[:1]
    for name in ("antitodoentry",):
        apps.get_model("antitodo", name).objects.update(space_id=models.Subquery(personal))


class Migration(migrations.Migration):
    dependencies = [
        ("antitodo", "0001_initial"),
        ("sync", "0005_spaces"),
    ]

    operations = [
        migrations.AddField(
            model_name="antitodoentry",
            name="space",
            field=models.ForeignKey(
                editable=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="sync.space"
            ),
        ),
        migrations.RunPython(into_personal_spaces, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="antitodoentry",
            name="space",
            field=models.ForeignKey(
                editable=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="sync.space"
            ),
        ),
        migrations.RemoveIndex(model_name="antitodoentry", name="antitodoentry_user_chg"),
        migrations.AddIndex(
            model_name="antitodoentry", index=models.Index(fields=["space", "change_number"], name="antitodoentry_space_chg")
        ),
    ]
