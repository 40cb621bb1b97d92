"""Account writes, one module per concern: users (registration, deactivation), sessions, passwords,
password reset, API keys, account deletion. Every security-relevant write records its audit event
(accounts.audit). The profile's writes are accounts.profile_services."""
