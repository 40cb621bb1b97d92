"""Daymark settings: one module, read from the environment (django-environ), secure by default.

Every variable is listed with a comment in `.env.example`. Nothing here exists "only in production":
the same module serves development, tests and production; the environment chooses.
"""

import hashlib
from datetime import timedelta
from pathlib import Path

import environ
from corsheaders.defaults import default_headers as default_cors_headers
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off (see .env.example)."
        )
    SECRET_KEY = "insecure-development-only-key-do-not-use-in-production"
# Previous secret keys, still accepted for signatures while admin sessions and reset tokens roll over.
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # First: its `runserver` is Django's on ASGI, so `make run` serves HTTP and the live WebSocket together.
    "daphne",
    "config.admin.DaymarkAdminConfig",  # django.contrib.admin with our site (config/admin.py)
    # Before django.contrib.auth: its `changepassword` command replaces Django's (sessions revoked, audited).
    "accounts",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "django_prometheus",
    "django_tasks",
    "django_tasks_db",
    "core",
    "jobs",
    "sync",
    "lists",
    "focus",
    "antitodo",
    # After the personal types: the registry's order is the contract's (docs/api/sync.md, Types).
    "workspaces",
    "insights",
    "portability",
    "backoffice",
    "calendars",
    # Integrations: after the domain apps whose types they refer to (a reminder names an item).
    "reminders",
    "channels",
    "live",
    "search",
    "webhooks",
    "devdata",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "core.middleware.RequestIdMiddleware",
    "core.middleware.ClientContextMiddleware",
    "core.middleware.AccessLogMiddleware",
    # Counts API use for the back office (active users, pulls, pushes) in memory; reads the request's user
    # id, which RequestIdMiddleware above resets after the request.
    "backoffice.usage.UsageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "core.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.ApiProblemMiddleware",
    # Innermost of ours: after the body-size limit, and it sees every POST's final answer.
    "core.idempotency.IdempotencyKeyMiddleware",
    # Last, as django-prometheus requires.
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
# API paths have no trailing slash (docs/api/README.md); never redirect to add one.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside a writer; IMMEDIATE takes the write lock at BEGIN so concurrent writers
    # queue on the busy timeout instead of failing with "database is locked" mid-transaction.
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env.int("SQLITE_BUSY_TIMEOUT_SECONDS", default=20),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
elif _db["ENGINE"] in ("django.db.backends.postgresql", "django.db.backends.postgresql_psycopg2"):
    _db["ENGINE"] = "django.db.backends.postgresql"
    # A database outage is a fast 503 (core/problems.py): a request waits at most the pool timeout for a
    # connection. Health checks on: a connection is checked (one empty query) as it leaves the pool when it
    # may have died while idle (a PostgreSQL restart), so it is replaced instead of failing the request
    # that takes it; one checked out within the last DATABASE_POOL_CHECK_AFTER_SECONDS is not (a round
    # trip per request saved: core/db/pool.py; 0 checks every checkout).
    _db["CONN_HEALTH_CHECKS"] = True
    if env.bool("DATABASE_POOL", default=True):
        _db["CONN_MAX_AGE"] = 0
        _db.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
            "timeout": env.float("DATABASE_POOL_TIMEOUT_SECONDS", default=1.5),
        }
    else:
        _db["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    # libpq's minimum is 2 seconds; the pool connects in its own threads, so requests never wait this long.
    _db.setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=2)
    )
# The test database: DATABASE_TEST_NAME, else `test_<name>` on PostgreSQL (pytest-xdist's workers add
# `_gw0`, `_gw1`, ...) and an in-memory database per process on SQLite. Said explicitly for SQLite: the
# engine below is django-prometheus's, which pytest-django does not take for SQLite, so its workers would
# look for a file named `test_/path/to/db.sqlite3_gw0`.
_default_test_name = ":memory:" if _db["ENGINE"] == "django.db.backends.sqlite3" else None
_db.setdefault("TEST", {})["NAME"] = env.str("DATABASE_TEST_NAME", default=_default_test_name)
# django-prometheus subclasses of the same backends count connections, queries and their durations; the
# OPTIONS above (pool, SQLite pragmas) pass through unchanged.
_db["ENGINE"] = _db["ENGINE"].replace("django.db.backends.", "django_prometheus.db.backends.")
if _db["ENGINE"] == "django_prometheus.db.backends.postgresql":
    # The same, reading timestamps with psycopg's C loader (core/db/postgresql/base.py says why).
    _db["ENGINE"] = "core.db.postgresql"
DATABASE_POOL_CHECK_AFTER_SECONDS = env.float("DATABASE_POOL_CHECK_AFTER_SECONDS", default=1.0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (shared rate-limit counters live here) ----------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # Optional: while Redis fails, a local-memory cache per process answers (core/cache.py).
            "BACKEND": "core.cache.OptionalRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="daymark"),
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": env.float("CACHE_SOCKET_TIMEOUT_SECONDS", default=0.5),
                "SOCKET_TIMEOUT": env.float("CACHE_SOCKET_TIMEOUT_SECONDS", default=0.5),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "core.metrics.LocMemCache", "LOCATION": "daymark"}}

# --- Live updates (live/, docs/api/live.md): how every ASGI process hears of changes ----------------------
# With REDIS_URL, one pub/sub channel (<LIVE_KEY_PREFIX>:live) carries each change once to every process,
# which pokes its own sockets (live/hub.py), and presence lives under the same prefix: any process reaches
# any socket (a write through gunicorn pokes a socket held by uvicorn). Without it, one process's memory:
# the embedded default, where runserver serves HTTP and WebSocket alike. The channel layer is not used.
LIVE_KEY_PREFIX = env.str("LIVE_KEY_PREFIX", default="daymark-live")
# `heartbeat` of the hello message: a ping every this many seconds; three silent ones close the socket.
LIVE_HEARTBEAT_SECONDS = env.float("LIVE_HEARTBEAT_SECONDS", default=25)
# A socket's presence entry lives this long unless its process refreshes it (every LIVE_PRESENCE_REFRESH_
# SECONDS), so the sockets of a killed process leave presence within TTL + refresh (40 s by default).
LIVE_PRESENCE_TTL_SECONDS = env.float("LIVE_PRESENCE_TTL_SECONDS", default=30)
LIVE_PRESENCE_REFRESH_SECONDS = env.float("LIVE_PRESENCE_REFRESH_SECONDS", default=10)
# Each ASGI process writes how many sockets it holds to Redis this often (the back office's count).
LIVE_SOCKETS_REPORT_SECONDS = env.float("LIVE_SOCKETS_REPORT_SECONDS", default=10)
LIVE_TICKET_SECONDS = 30
LIVE_MAX_FRAME_BYTES = 4096
LIVE_MAX_FRAMES_PER_SECOND = 20
LIVE_TYPING_INTERVAL_SECONDS = 2.0

# After Redis fails, it is left alone this long before one call probes it again (core/cache.py).
CACHE_RETRY_SECONDS = env.float("CACHE_RETRY_SECONDS", default=5)
# Retry-After of the 503 `service_unavailable` answered while the database is unreachable.
SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS = env.int("SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS", default=5)
# A failing dependency (database, cache) is logged at most once per this many seconds (core/dependencies.py).
DEPENDENCY_LOG_INTERVAL_SECONDS = env.float("DEPENDENCY_LOG_INTERVAL_SECONDS", default=30)

# --- Auth ------------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# Argon2id at OWASP's parameters (accounts/hashers.py); hashes with Django's older ones are rehashed at login.
PASSWORD_HASHERS = [
    "accounts.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Passkeys (WebAuthn, accounts/services/passkeys.py; docs/deployment.md). The relying party id is the domain
# passkeys are bound to (the web app's registrable domain, also the iOS app's `webcredentials:` associated
# domain); it is never taken from the request. The origins are those whose ceremonies are accepted: the web
# app's `https://` origins, and `android:apk-key-hash:...` for an Android app.
PASSKEYS_RP_ID = env.str("PASSKEYS_RP_ID", default="localhost")
PASSKEYS_RP_NAME = env.str("PASSKEYS_RP_NAME", default="Daymark")
PASSKEYS_ORIGINS = env.list("PASSKEYS_ORIGINS", default=["http://localhost:8000"])
# How long a begun ceremony can be finished, in seconds (the contract says 5 minutes).
PASSKEYS_CEREMONY_SECONDS = env.int("PASSKEYS_CEREMONY_SECONDS", default=300)

# The JWT signing key is its own secret so it can be rotated without touching SECRET_KEY; by default it is
# derived from SECRET_KEY (set JWT_SIGNING_KEY explicitly in production).
JWT_SIGNING_KEY = (
    env.str("JWT_SIGNING_KEY", default="") or hashlib.sha256(f"daymark-jwt:{SECRET_KEY}".encode()).hexdigest()
)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=5)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": env.str("JWT_ALGORITHM", default="HS256"),
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "AUDIENCE": env.str("JWT_AUDIENCE", default="daymark-api"),
    "ISSUER": env.str("JWT_ISSUER", default="daymark"),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "LEEWAY": 0,
    "USER_AUTHENTICATION_RULE": "rest_framework_simplejwt.authentication.default_user_authentication_rule",
    "CHECK_REVOKE_TOKEN": True,
    "REVOKE_TOKEN_CLAIM": "hash_password",
}

# --- REST framework and schema ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.JWTAuthentication",
        "accounts.authentication.ApiKeyAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["core.ratelimit.RateLimitThrottle"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.KeysetPagination",
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.problems.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "PAGE_SIZE": 50,
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%S.%fZ",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Daymark API",
    "DESCRIPTION": "Lists, items, focus cards, anti-todo and insights, with offline sync.\n\n"
    "How the API behaves (authentication, versions and conflicts, sync, errors, limits, idempotency, export "
    "and import) is in the guide for client developers: `docs/api/README.md` in the Daymark repository, "
    "beside this schema (`docs/api/openapi.yaml`).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Readable names for the enums generated clients make classes of (config/openapi.py names the rest).
    "ENUM_NAME_OVERRIDES": {
        "ItemStatus": "lists.models.Item.Status",
        "FocusCardSource": "focus.models.FocusCard.Source",
        "ApiKeyScope": "accounts.models.ApiKey.Scope",
        "OnboardingStep": "accounts.profile_services.ONBOARDING_STEPS",
        "SyncAction": "sync.push.ACTIONS",
        "ImportMode": ["merge", "replace"],
        "RecurrenceMode": "lists.recurrence.MODES",
        "WorkspaceRole": "workspaces.models.Role",
        "InvitedRole": "workspaces.serializers.INVITABLE_ROLES",
        "InvitationStatus": "workspaces.models.Invitation.Status",
        "ActivityAction": "workspaces.models.Activity.Action",
    },
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "config.openapi.postprocess"],
}

# --- Daymark behaviour -----------------------------------------------------------------------------------
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
SYNC_RETENTION_DAYS = env.int("SYNC_RETENTION_DAYS", default=30)
OPERATION_RETENTION_DAYS = env.int("OPERATION_RETENTION_DAYS", default=7)
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
# Every serving process writes its usage counts and a snapshot of the metrics this often (backoffice.usage);
# 0 turns that off.
BACKOFFICE_TICK_SECONDS = env.float("BACKOFFICE_TICK_SECONDS", default=60)

# --- Background work (jobs/, docs/operations.md "The worker") -----------------------------------------------
# Django's Tasks API (the django-tasks backport) on the database: enqueued tasks are rows in the same
# transaction as the write that made them, and `manage.py worker` runs them, on SQLite and PostgreSQL alike.
# Tests use it too: they run the queue with jobs.tasks.run_queued_tasks() or a real worker process.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# How often an idle worker looks for new tasks, and for due periodic jobs.
TASKS_POLL_SECONDS = env.float("TASKS_POLL_SECONDS", default=1.0)
JOBS_TICK_SECONDS = env.float("JOBS_TICK_SECONDS", default=1.0)
# Periodic jobs one worker runs at once (each in its own thread).
JOBS_THREADS = env.int("JOBS_THREADS", default=4)
# A failed run is tried again this much later (or at the job's next time, when sooner).
JOBS_RETRY_SECONDS = env.int("JOBS_RETRY_SECONDS", default=30)
# A run claimed longer ago than this is taken to be dead (its worker was killed) and may be claimed again.
JOBS_CLAIM_TIMEOUT_SECONDS = env.int("JOBS_CLAIM_TIMEOUT_SECONDS", default=900)
# A job due longer ago than this is "late" in the back office and in `manage.py jobs`.
JOBS_LATE_SECONDS = env.int("JOBS_LATE_SECONDS", default=120)
# Users per task of the morning focus cards (focus/morning.py): the tasks spread over every worker.
MORNING_CARDS_BATCH = env.int("MORNING_CARDS_BATCH", default=200)
# Finished task results are kept this long (the admin shows them), then pruned by a job.
TASK_RESULT_RETENTION_DAYS = env.int("TASK_RESULT_RETENTION_DAYS", default=7)

# --- Metrics and error reports ---------------------------------------------------------------------------
# /metrics requires `Authorization: Bearer <METRICS_TOKEN>` when set (always set it in production).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
PROMETHEUS_EXPORT_MIGRATIONS = False
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from core.sentry import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        release=env.str("SENTRY_RELEASE", default="") or None,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# --- Internationalisation and time ----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (admin and API docs assets, served by whitenoise) --------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_STORAGE", default="whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security --------------------------------------------------------------------------------------------
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_CREDENTIALS = False
CORS_URLS_REGEX = r"^/api/.*$"
CORS_EXPOSE_HEADERS = ["ETag", "Location", "X-Request-ID", "RateLimit", "RateLimit-Policy", "Retry-After"]
CORS_EXPOSE_HEADERS += ["Deprecation", "Sunset", "Link"]
CORS_EXPOSE_HEADERS += ["Idempotent-Replayed"]
# Browser clients send If-Match on writes (docs/api/versions.md) and Idempotency-Key on POSTs
# (docs/api/idempotency.md).
CORS_ALLOW_HEADERS = [*default_cors_headers, "if-match", "idempotency-key", "x-request-id"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
DJANGO_SECURE = env.bool("DJANGO_SECURE", default=False)
SECURE_SSL_REDIRECT = DJANGO_SECURE
SESSION_COOKIE_SECURE = DJANGO_SECURE
CSRF_COOKIE_SECURE = DJANGO_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000) if DJANGO_SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = DJANGO_SECURE
SECURE_HSTS_PRELOAD = DJANGO_SECURE
if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$"]
if "*" in CORS_ALLOWED_ORIGINS:
    raise ImproperlyConfigured("CORS_ALLOWED_ORIGINS must list origins; `*` is never allowed.")
# The HTML pages (the root page, admin, API docs) get a same-origin Content-Security-Policy; every other
# answer one that allows nothing (core/security.py).
CSP_HTML_PATHS = ("/",)
CSP_HTML_PATH_PREFIXES = ("/admin/", "/api/docs", "/api/redoc")

# --- Rate limits (core/ratelimit.py): counters in the shared cache; rates are `<count>/<s|m|h|d>` -------
RATE_LIMIT_DEFAULT = env.str("RATE_LIMIT_DEFAULT", default="600/m")
RATE_LIMIT_ADMIN_KEY_MULTIPLIER = env.int("RATE_LIMIT_ADMIN_KEY_MULTIPLIER", default=5)
# The authentication limits are the contract's; with DEBUG on, development limits twenty times higher,
# so a developer who registers test accounts or retries logins is not locked out for an hour.
RATE_LIMIT_TOKEN_PER_IP = env.str("RATE_LIMIT_TOKEN_PER_IP", default="200/m" if DEBUG else "10/m")
# Failed logins per account (accounts/login_limits.py): an address that logged in to the account in the last
# RATE_LIMIT_LOGIN_KNOWN_ADDRESS_DAYS has its own budget of them, so others cannot lock the owner out.
RATE_LIMIT_TOKEN_PER_EMAIL = env.str("RATE_LIMIT_TOKEN_PER_EMAIL", default="100/m" if DEBUG else "5/m")
RATE_LIMIT_LOGIN_KNOWN_ADDRESS_DAYS = env.int("RATE_LIMIT_LOGIN_KNOWN_ADDRESS_DAYS", default=90)
RATE_LIMIT_REGISTER_PER_IP = env.str("RATE_LIMIT_REGISTER_PER_IP", default="100/h" if DEBUG else "5/h")
RATE_LIMIT_PASSWORD_RESET_PER_IP = env.str(
    "RATE_LIMIT_PASSWORD_RESET_PER_IP", default="100/h" if DEBUG else "5/h"
)
# Failed authentications (bad API key or token, wrong password) per client IP; beyond it they answer 429.
RATE_LIMIT_AUTH_FAILURES_PER_IP = env.str("RATE_LIMIT_AUTH_FAILURES_PER_IP", default="30/m")
RATE_LIMIT_ENABLE = env.bool("RATE_LIMIT_ENABLE", default=True)
# Fetches of one calendar feed's URL (docs/api/calendar-feeds.md): calendar apps poll every few minutes at
# the most, and one URL may be subscribed on a few devices.
RATE_LIMIT_CALENDAR_FEED = env.str("RATE_LIMIT_CALENDAR_FEED", default="120/h")
# Proxies whose X-Forwarded-For is believed (CIDRs). Empty: the peer address is the client.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# --- API keys and password reset -------------------------------------------------------------------------
API_KEY_LAST_USED_INTERVAL_SECONDS = env.int("API_KEY_LAST_USED_INTERVAL_SECONDS", default=300)
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_SECONDS", default=3600)
PASSWORD_RESET_URL = env.str("PASSWORD_RESET_URL", default="")

# --- Calendar feeds ------------------------------------------------------------------------------------
# The scheme and host of the feed URLs handed out (`https://api.example.com`); empty: those of the request
# that creates the feed (right when the proxy passes the public Host and DJANGO_BEHIND_TLS_PROXY is set).
CALENDAR_FEED_BASE_URL = env.str("CALENDAR_FEED_BASE_URL", default="")

# --- Webhooks ---------------------------------------------------------------------------------------------
# Development and tests only: webhooks may then use plain http and reach internal addresses (127.0.0.1).
# `check --deploy` fails with it on while DEBUG is off (webhooks.E001; docs/security.md).
WEBHOOKS_ALLOW_INSECURE = env.bool("WEBHOOKS_ALLOW_INSECURE", default=False)

# --- Workspaces ------------------------------------------------------------------------------------------
WORKSPACE_INVITATION_TTL_DAYS = env.int("WORKSPACE_INVITATION_TTL_DAYS", default=7)
WORKSPACE_INVITATIONS_PER_DAY = env.int("WORKSPACE_INVITATIONS_PER_DAY", default=50)
WORKSPACE_ACTIVITY_RETENTION_DAYS = env.int("WORKSPACE_ACTIVITY_RETENTION_DAYS", default=90)
# The link of an invitation email; `{token}` is replaced by the invitation's token.
INVITATION_ACCEPT_URL = env.str(
    "INVITATION_ACCEPT_URL", default="http://localhost:8000/invitations/accept?token={token}"
)

# --- Logging ---------------------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# JSON lines for log collectors by default; readable console lines while developing.
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
if LOG_FORMAT not in ("json", "console"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or console.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_context": {"()": "core.logging.RequestContextFilter"},
        "redact": {"()": "core.logging.RedactingFilter"},
    },
    "formatters": {
        "json": {"()": "core.logging.JsonFormatter"},
        "console": {"()": "core.logging.ConsoleFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_context", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # The access line of every request comes from core.middleware.AccessLogMiddleware; django.request
        # would repeat each 4xx/5xx without adding anything but unhandled errors (which it still logs).
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        "daymark.access": {"level": env.str("ACCESS_LOG_LEVEL", default="INFO")},
        # httpx logs every request with its full URL; webhook URLs often hold their receiver's token in the
        # path. webhooks.delivery logs each batch without URLs instead.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Daymark <no-reply@daymark.invalid>")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT_SECONDS", default=10)

DEMO_USER_EMAIL = env.str("DEMO_USER_EMAIL", default="demo@daymark.invalid")
DEMO_USER_PASSWORD = env.str("DEMO_USER_PASSWORD", default="")
