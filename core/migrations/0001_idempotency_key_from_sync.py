"""IdempotencyKey moves from sync to core (the middleware that uses it is core's). State only: the table
keeps its name, `sync_idempotencykey`, and its rows."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("sync", "0003_anonymous_idempotency_keys"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="IdempotencyKey",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("key", models.CharField(max_length=255)),
                        ("request_hash", models.CharField(max_length=64)),
                        ("status_code", models.PositiveSmallIntegerField(blank=True, null=True)),
                        ("response_body", models.BinaryField(default=b"")),
                        ("response_headers", models.JSONField(default=dict)),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        (
                            "user",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "sync_idempotencykey",
                        "constraints": [
                            models.UniqueConstraint(fields=("user", "key"), name="idempotencykey_user_key_unique"),
                            models.UniqueConstraint(
                                condition=models.Q(("user__isnull", True)),
                                fields=("key",),
                                name="idempotencykey_anonymous_key_unique",
                            ),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
