"""Spaces replace the per-user counters: each user's SyncState becomes their personal space with the same
numbers, so every cursor issued so far stays valid (it is the integer cursor of the personal space), and
each change record names its space (the user's personal one) and its actor (that user)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def states_to_spaces(apps, schema_editor):
    SyncState = apps.get_model("sync", "SyncState")
    Space = apps.get_model("sync", "Space")
    ChangeRecord = apps.get_model("sync", "ChangeRecord")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    Space.objects.bulk_create(
        Space(user_id=state.user_id, last_change_number=state.last_change_number, pruned_through=state.pruned_through)
        for state in SyncState.objects.iterator()
    )
    # Every user has a personal space, even one that never wrote.
    Space.objects.bulk_create(
        Space(user_id=user_id)
        for user_id in User.objects.exclude(pk__in=Space.objects.values("user_id")).values_list("pk", flat=True)
    )
    spaces = Space.objects.filter(user_id=models.OuterRef("user_id")).values("pk")[:1]
    ChangeRecord.objects.update(space_id=models.Subquery(spaces), actor_id=models.F("user_id"))


def spaces_to_states(apps, schema_editor):
    SyncState = apps.get_model("sync", "SyncState")
    Space = apps.get_model("sync", "Space")
    ChangeRecord = apps.get_model("sync", "ChangeRecord")
    personal = Space.objects.filter(user_id__isnull=False)
    SyncState.objects.bulk_create(
        SyncState(user_id=space.user_id, last_change_number=space.last_change_number, pruned_through=space.pruned_through)
        for space in personal.iterator()
    )
    owners = Space.objects.filter(pk=models.OuterRef("space_id")).values("user_id")[:1]
    ChangeRecord.objects.update(user_id=models.Subquery(owners))
    # Changes of workspace spaces have no user to belong to in the old model.
    ChangeRecord.objects.filter(user_id__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0004_idempotency_key_to_core"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Space",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("workspace_id", models.UUIDField(blank=True, null=True, unique=True)),
                ("last_change_number", models.BigIntegerField(default=0)),
                ("pruned_through", models.BigIntegerField(default=0)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("retired_at", models.DateTimeField(blank=True, null=True)),
                (
                    "user",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("last_change_number__gte", models.F("pruned_through"))),
                        name="space_pruned_not_ahead",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("user__isnull", False), ("workspace_id__isnull", True)),
                            models.Q(("user__isnull", True), ("workspace_id__isnull", False)),
                            _connector="OR",
                        ),
                        name="space_personal_or_workspace",
                    ),
                ],
            },
        ),
        migrations.AddField(
            model_name="changerecord",
            name="space",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="sync.space"
            ),
        ),
        migrations.AddField(
            model_name="changerecord",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="changerecord",
            name="target_space",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="sync.space",
            ),
        ),
        migrations.AlterField(
            model_name="changerecord",
            name="user",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
            ),
        ),
        migrations.RunPython(states_to_spaces, spaces_to_states),
        migrations.RemoveConstraint(model_name="changerecord", name="changerecord_user_number_unique"),
        migrations.RemoveIndex(model_name="changerecord", name="changerecord_tombstones"),
        migrations.RemoveField(model_name="changerecord", name="user"),
        migrations.AlterField(
            model_name="changerecord",
            name="space",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="sync.space"),
        ),
        migrations.AddConstraint(
            model_name="changerecord",
            constraint=models.UniqueConstraint(fields=("space", "number"), name="changerecord_space_number_unique"),
        ),
        migrations.AddIndex(
            model_name="changerecord",
            index=models.Index(
                condition=models.Q(("deleted", True), ("target_space__isnull", False), _connector="OR"),
                fields=["space", "number"],
                name="changerecord_departures",
            ),
        ),
        migrations.DeleteModel(name="SyncState"),
    ]
