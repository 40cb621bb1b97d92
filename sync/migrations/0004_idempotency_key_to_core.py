"""IdempotencyKey now belongs to core (core/migrations/0001): state only, the table and its rows stay."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0003_anonymous_idempotency_keys"),
        ("core", "0001_idempotency_key_from_sync"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="IdempotencyKey")],
            database_operations=[],
        ),
    ]
