"""The limits on logging in, in one place for every way to log in (the password today, passkeys later).

- Per client IP, every attempt: `token-ip` (`RATE_LIMIT_TOKEN_PER_IP`), spent by the view's throttle.
- Per account, failed attempts only: `token-email` (`RATE_LIMIT_TOKEN_PER_EMAIL`). Spent before the
  password is checked (atomically, so concurrent guesses cannot all slip under it) and given back when it
  is right. Once spent, attempts for the account are refused (429) from every address that never logged
  in to it: guessing one password from many IPs stops.
- An address that logged in to the account before (in the last `RATE_LIMIT_LOGIN_KNOWN_ADDRESS_DAYS`) is
  not held by `token-email`: it has its own budget of failures for that account, `token-email-ip` (same
  rate). So an attacker who spends the account's failures cannot lock its owner out of the addresses the
  owner uses, and the owner's own typos cannot lock anyone else out.

The password that confirms an action of a caller already signed in (password change, account deletion) is
an attempt too: a stolen access token or API key must not guess the password faster than a login would.

Addresses are counted as the rate limits count them (IPv6 per /64). A refused attempt counts as a failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from rest_framework.request import Request

from core.problems import RateLimited
from core.ratelimit import (
    Budget,
    Count,
    Usage,
    client_ip_key,
    count,
    count_failed_authentication,
    flag_key,
    ip_budget,
    note_usages,
    refund,
)

IP_BUDGET = ip_budget("token-ip", "RATE_LIMIT_TOKEN_PER_IP")
ACCOUNT_FAILURES = Budget("token-email", "RATE_LIMIT_TOKEN_PER_EMAIL")
ADDRESS_FAILURES = Budget("token-email-ip", "RATE_LIMIT_TOKEN_PER_EMAIL")
_KNOWN_ADDRESS = "login-known"


def _counts(request: Request, account: str) -> list[Count]:
    address = f"{account}|{client_ip_key(request._request)}"
    return [Count(ACCOUNT_FAILURES, account), Count(ADDRESS_FAILURES, address)]


def _known_key(request: Request, account: str) -> str:
    return flag_key(_KNOWN_ADDRESS, f"{account}|{client_ip_key(request._request)}")


@dataclass(frozen=True)
class LoginAttempt:
    """One attempt to log in to `account` (the normalised email) from the request's address. It has spent
    one failure of the account and of this address for it (`spent`); `succeeded()` gives them back."""

    request: Request
    account: str
    known_address: bool
    spent: tuple[Usage, ...] = ()

    def confirmation_failed(self) -> None:
        """A wrong password confirming an action of a caller already signed in (password change, account
        deletion): besides the account's failure, a refused credential of the client IP. Raises
        RateLimited once the address has no failures left; else the caller answers its 400."""
        wait = count_failed_authentication(self.request._request)
        if wait is not None:
            raise RateLimited("Too many failed authentications from your address.", wait=wait)

    def succeeded(self) -> None:
        """Gives back the failures the attempt spent, and remembers that this address logged in to the
        account: it gets its own budget of failures."""
        refunded = refund(self.spent)
        if refunded:
            note_usages(self.request._request, [refunded[1] if self.known_address else refunded[0]])
        ttl = settings.RATE_LIMIT_LOGIN_KNOWN_ADDRESS_DAYS * 86400
        count([], extra=[(_known_key(self.request, self.account), "mark", ttl)])


def login_attempt(
    request: Request, account: str, on_refused: Callable[[Request, Usage], None] | None = None
) -> LoginAttempt:
    """Starts an attempt; call before checking the credential, then `succeeded()` if it was right. The
    attempt is a failure until then: it is counted before the check, in one atomic step, so guesses sent
    at once cannot all pass a count that none of them has raised yet. Raises RateLimited (429 with
    Retry-After) when the failures that govern this address are spent; `on_refused(request, usage)` is
    called on the first refusal of a window."""
    counted = count(_counts(request, account), extra=[(_known_key(request, account), "read", 0)])
    if counted is None:
        return LoginAttempt(request, account, known_address=False)
    (by_account, by_address), (known,) = counted
    governing = by_address if known else by_account
    note_usages(request._request, [governing])
    if governing.refused:
        if governing.first_refusal and on_refused is not None:
            on_refused(request, governing)
        raise RateLimited(wait=max(1, governing.reset))
    return LoginAttempt(request, account, known_address=bool(known), spent=(by_account, by_address))
