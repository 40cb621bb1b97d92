"""Access tokens for `seed_load`'s users, for the benchmark's load generators (`make bench`).

Logging 1,000 users in through the API would cost the bench a minute of Argon2 on the server it measures;
these are the tokens a login would give (signed with the server's key, the user's token generation and
password claim), minted here with no row written. Writes one JSON document:
`{"heavy": {...}, "sync": [{...}], "light": [{...}]}`, each user as `{"email", "access", "list"}` (`list`:
the id of the user's first list by position).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from accounts.user_cache import GENERATION_CLAIM
from devdata.management.commands.seed_load import DOMAIN, HEAVY_EMAIL, SYNC_EMAIL
from lists.models import List


def access_token(user: User) -> str:
    token = AccessToken.for_user(user)
    token[GENERATION_CLAIM] = user.token_generation
    return str(token)


class Command(BaseCommand):
    help = "Write access tokens of seed_load's users (heavy, sync, a sample of the light ones) as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, help="The file to write.")
        parser.add_argument("--light", type=int, default=1000, help="How many light users (spread evenly).")

    def handle(self, *args: Any, **options: Any) -> None:
        light = User.objects.filter(email__startswith="light-", email__endswith=f"@{DOMAIN}").order_by(
            "email"
        )
        ids = list(light.values_list("pk", flat=True))
        total = len(ids)
        wanted = min(options["light"], total)
        step = total / wanted if wanted else 1
        picked = list(light.filter(pk__in=[ids[int(n * step)] for n in range(wanted)]))
        sync = list(User.objects.filter(email__startswith="sync", email__endswith=f"@{DOMAIN}"))
        sync.sort(key=lambda user: (user.email != SYNC_EMAIL, len(user.email), user.email))
        users = [User.objects.get(email=HEAVY_EMAIL), *sync, *picked]
        first_list = dict(
            List.objects.filter(user__in=users).order_by("user_id", "-position").values_list("user_id", "id")
        )

        def entry(user: User) -> dict[str, str]:
            return {
                "email": user.email,
                "access": access_token(user),
                "list": str(first_list.get(user.pk, "")),
            }

        document = {
            "heavy": entry(users[0]),
            "sync": [entry(user) for user in sync],
            "light": [entry(user) for user in picked],
            "light_total": total,
        }
        with open(options["out"], "w") as out:
            json.dump(document, out)
        self.stdout.write(f"Tokens of {len(users)} users (of {total} light ones) in {options['out']}.")
