"""Replaces every refresh token kept in simplejwt's outstanding-token table by its SHA-256 digest
(accounts.services.sessions.refresh_token_digest), so that no row can be used to refresh. Reversing keeps the
digests: the tokens cannot be recovered, and nothing needs them (revocation goes by jti)."""

import hashlib

from django.db import migrations

PREFIX = "sha256:"


def digest_tokens(apps, schema_editor):
    OutstandingToken = apps.get_model("token_blacklist", "OutstandingToken")
    batch = []
    for row in OutstandingToken.objects.exclude(token__startswith=PREFIX).only("id", "token").iterator(2000):
        row.token = PREFIX + hashlib.sha256(row.token.encode()).hexdigest()
        batch.append(row)
        if len(batch) == 2000:
            OutstandingToken.objects.bulk_update(batch, ["token"])
            batch = []
    OutstandingToken.objects.bulk_update(batch, ["token"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_api_keys_and_audit_log"),
        ("token_blacklist", "0013_alter_blacklistedtoken_options_and_more"),
    ]

    operations = [migrations.RunPython(digest_tokens, migrations.RunPython.noop)]
