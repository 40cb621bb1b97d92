from functools import lru_cache
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_timezone(value: str) -> None:
    """An IANA time zone name that this server knows (`Europe/Paris`, `UTC`)."""
    if value not in _time_zones():
        raise ValidationError("Not a known IANA time zone name.", code="invalid_timezone")


EMAIL_TAKEN = "An account with this email already exists."
