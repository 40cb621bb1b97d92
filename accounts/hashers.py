"""Password hashing: Argon2id with OWASP's parameters.

Django's Argon2 hasher uses m=100 MiB, t=2, p=8: every password check allocates 100 MiB, so a few
concurrent logins cost a worker hundreds of MiB. OWASP's password storage cheat sheet lists m=19 MiB, t=2,
p=1 as an equivalent choice. A hash stored with other parameters is still verified with its own (they are
part of the hash) and is then replaced with these at that successful login (Django's `must_update`).
`bench/login_memory.py` measures a worker's peak memory during concurrent logins with both.
"""

from __future__ import annotations

from django.contrib.auth import hashers


class Argon2PasswordHasher(hashers.Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
