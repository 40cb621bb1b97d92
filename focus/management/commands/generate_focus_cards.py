"""Creates today's generated focus card (today where each user lives) for every user who asked for it
(`preferences.focus_auto_generate`). Idempotent and safe to run from cron on several machines at once:
the (user, date) constraint and the user's write lock make one card per user and day."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.models import Profile
from accounts.profile_services import preferences_of
from core.dates import local_today
from focus.models import FocusCard
from focus.services import focus_card_generate


class Command(BaseCommand):
    help = "Generate today's focus card for users with focus_auto_generate on (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        checked = created = existing = 0
        profiles = (
            Profile.objects.filter(preferences__focus_auto_generate=True, user__is_active=True)
            .select_related("user")
            .order_by("user_id")
            .iterator(chunk_size=500)
        )
        for profile in profiles:
            checked += 1
            user, day = profile.user, local_today(profile.user)
            # The cheap check first: most runs find the card already there.
            if FocusCard.objects.filter(user=user, date=day).exists():
                existing += 1
                continue
            size = int(preferences_of(profile)["focus_size"])
            _card, made = focus_card_generate(user=user, day=day, size=size)
            created += made
            existing += not made
        self.stdout.write(
            f"generate_focus_cards: {checked} users checked, {created} cards created, "
            f"{existing} already had one"
        )
