"""The studio's one settings module, read from the environment.

With no environment at all the studio runs embedded: SQLite, the in-memory channel layer and
inline execution. `DATABASE_URL` and `REDIS_URL` scale it out; `FCSTUDIO_ENV=production` turns on
the deployment hardening that `manage.py check --deploy` asks for.
"""

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PRODUCTION = env_str("FCSTUDIO_ENV", "development") == "production"
DEBUG = env_bool("DEBUG")

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise RuntimeError("SECRET_KEY must be set when FCSTUDIO_ENV=production")
    SECRET_KEY = "insecure-development-key-only-for-the-embedded-mode-" + "x" * 16

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "template_partials",
    "csp",
    "axes",
    "fcstudio",
    "tools_app",
    "conversations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF, which reads the body: an oversized request is refused from its headers.
    "fcstudio.limits.RequestSizeMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out log-in into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "fcstudio.urls"
ASGI_APPLICATION = "fcstudio.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# PostgreSQL connections come from a pool per process (psycopg_pool through Django's "pool"
# option), not one persistent connection per thread: under ASGI every request may run in
# another thread, and persistent connections then pile up until PostgreSQL refuses clients.
# A request beyond FCSTUDIO_DB_POOL_MAX waits up to FCSTUDIO_DB_POOL_TIMEOUT seconds for a
# connection. The same sizes apply to the server, Celery workers and channels workers; keep
# (processes x FCSTUDIO_DB_POOL_MAX) under PostgreSQL's max_connections.
FCSTUDIO_DB_POOL_MIN = int(env_str("FCSTUDIO_DB_POOL_MIN", "2"))
FCSTUDIO_DB_POOL_MAX = int(env_str("FCSTUDIO_DB_POOL_MAX", "20"))
FCSTUDIO_DB_POOL_TIMEOUT = float(env_str("FCSTUDIO_DB_POOL_TIMEOUT", "30"))
DATABASES = {
    "default": dj_database_url.config(default=f"sqlite:///{BASE_DIR / 'fcstudio.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    # Browser tests serve from a second process, so the test database must be a file; one per
    # test session, so that two sessions never share it.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"fcstudio-test-{os.getpid()}.sqlite3")
    }
else:
    # Pooling and persistent connections are exclusive: a connection goes back to the pool at
    # the end of each request (or each worker's unit of work).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": FCSTUDIO_DB_POOL_MIN,
        "max_size": FCSTUDIO_DB_POOL_MAX,
        "timeout": FCSTUDIO_DB_POOL_TIMEOUT,
    }
    DATABASES["default"]["TEST"] = {"NAME": f"test_fcstudio_{os.getpid()}"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
# Each process (per event loop) keeps at most this many Redis connections for the channel
# layer; a live frame beyond them waits up to the timeout for one (fcstudio.channel_layer).
# At 200 runs on one Daphne loop (bench_scale), 50 connections and 20 s dropped frames: a busy
# loop holds each connection for several of its turns.
FCSTUDIO_REDIS_MAX_CONNECTIONS = int(env_str("FCSTUDIO_REDIS_MAX_CONNECTIONS", "100"))
FCSTUDIO_REDIS_POOL_TIMEOUT = float(env_str("FCSTUDIO_REDIS_POOL_TIMEOUT", "60"))
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "fcstudio.channel_layer.PooledRedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "max_connections": FCSTUDIO_REDIS_MAX_CONNECTIONS,
                "pool_timeout": FCSTUDIO_REDIS_POOL_TIMEOUT,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Execution: "inline" (the ASGI process), "channels" (manage.py runworker) or "celery".
FCSTUDIO_DISPATCH = env_str("FCSTUDIO_DISPATCH", "inline")
# The database work of runs (conversations.run_database) is done by this many threads of each
# process, at most FCSTUDIO_DB_POOL_MAX / 2, each holding a pooled connection only while it
# works; PostgreSQL only (with SQLite, or 0, asgiref's thread-sensitive thread). 4 in worker
# processes; 1 inline, where the same loop serves the pages: in bench_scale more threads took
# its share of the GIL, and runs and live frames both slowed.
FCSTUDIO_RUN_DB_THREADS = int(
    env_str("FCSTUDIO_RUN_DB_THREADS", "1" if FCSTUDIO_DISPATCH == "inline" else "4")
)
if FCSTUDIO_DISPATCH not in {"inline", "channels", "celery"}:
    raise RuntimeError(
        f"FCSTUDIO_DISPATCH={FCSTUDIO_DISPATCH!r} is not one of inline, channels or celery"
    )
# Modules whose callables the python tool implementation may import; nothing else is importable.
FCSTUDIO_TOOL_MODULES = env_list("FCSTUDIO_TOOL_MODULES", "tools_app.demo_tools")
# Python tools run in this many warm child processes per serving/worker process, each capped at
# this much address space (MB), and killed at the tool's timeout (tools_app.engine.process_pool).
FCSTUDIO_PYTHON_WORKERS = int(env_str("FCSTUDIO_PYTHON_WORKERS", "2"))
FCSTUDIO_PYTHON_MEMORY_MB = int(env_str("FCSTUDIO_PYTHON_MEMORY_MB", "512"))
# HTTP tools refuse private, loopback and link-local targets unless an operator allows them.
FCSTUDIO_HTTP_ALLOW_PRIVATE = env_bool("FCSTUDIO_HTTP_ALLOW_PRIVATE")
FCSTUDIO_HTTP_ALLOWED_HOSTS = env_list("FCSTUDIO_HTTP_ALLOWED_HOSTS")
# Providers on loopback or a private network (a local model server): allowed in development,
# in production only when listed here or in FCSTUDIO_HTTP_ALLOWED_HOSTS (fcstudio.outbound).
FCSTUDIO_PROVIDER_ALLOW_PRIVATE = env_bool("FCSTUDIO_PROVIDER_ALLOW_PRIVATE", not PRODUCTION)
FCSTUDIO_PROVIDER_ALLOWED_HOSTS = env_list("FCSTUDIO_PROVIDER_ALLOWED_HOSTS")
# The recording proxy (/v1/, conversations.proxy): the largest request body it accepts, how long
# a looked-up API token is trusted before it is looked up again (a revocation made in another
# process takes effect within this), and how many finished exchanges may wait to be recorded.
FCSTUDIO_PROXY_MAX_BODY_BYTES = int(env_str("FCSTUDIO_PROXY_MAX_BODY_BYTES", str(8 * 1024 * 1024)))
FCSTUDIO_PROXY_TOKEN_CACHE_SECONDS = float(env_str("FCSTUDIO_PROXY_TOKEN_CACHE_SECONDS", "2"))
FCSTUDIO_PROXY_RECORD_QUEUE = int(env_str("FCSTUDIO_PROXY_RECORD_QUEUE", "1000"))
# Where apps reach the proxy, as the API tokens page tells them: the proxy's own server
# (`manage.py serve_proxy`, which `make run` starts on port 8001) when it runs, else empty for
# the studio's own /v1/ (the same proxy, slower behind Daphne).
FCSTUDIO_PROXY_URL = env_str("FCSTUDIO_PROXY_URL")
# Fernet keys for secrets at rest (fcstudio.secrets), comma-separated: the first encrypts, all
# decrypt, so a new key goes first and old ones stay until re-encrypted. Empty: derived from
# SECRET_KEY, which then cannot change without losing the stored secrets.
FCSTUDIO_SECRET_KEYS = env_list("FCSTUDIO_SECRET_KEYS")
# Where the studio itself is reachable from its own process: the demo workspace's provider
# calls the built-in demo model at <this>/demo-model/v1. Unset in production, where load_demo
# then creates no demo provider (providers may not reach loopback there unless allowed).
FCSTUDIO_PUBLIC_URL = env_str(
    "FCSTUDIO_PUBLIC_URL", "" if PRODUCTION else "http://127.0.0.1:8000"
).rstrip("/")
# The largest import a person may paste or upload.
FCSTUDIO_MAX_IMPORT_BYTES = int(env_str("FCSTUDIO_MAX_IMPORT_BYTES", str(5 * 1024 * 1024)))
# Django's own ceiling on a body's form fields (files aside), for views that declare no
# smaller limit of their own (fcstudio.limits): the largest import pasted, and some room.
DATA_UPLOAD_MAX_MEMORY_SIZE = FCSTUDIO_MAX_IMPORT_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = FCSTUDIO_MAX_IMPORT_BYTES + 1024 * 1024

# Runs whose worker died are marked failed every this many seconds by each serving process and
# channels worker (0: off; then run `manage.py reap_runs` from cron), and by Celery beat.
FCSTUDIO_REAP_INTERVAL_SECONDS = float(env_str("FCSTUDIO_REAP_INTERVAL_SECONDS", "30"))

# Per-tool limits hold across batches in one process; with REDIS_URL, across every worker. A
# concurrency permit of a worker that died comes back after this lease (tools_app.runtime).
FCSTUDIO_LIMIT_LEASE_SECONDS = float(env_str("FCSTUDIO_LIMIT_LEASE_SECONDS", "30"))
# Per-team quotas over the last hour (conversations.quotas); 0 means unlimited.
FCSTUDIO_TEAM_RUNS_PER_HOUR = int(env_str("FCSTUDIO_TEAM_RUNS_PER_HOUR", "0"))
FCSTUDIO_TEAM_MODEL_CALLS_PER_HOUR = int(env_str("FCSTUDIO_TEAM_MODEL_CALLS_PER_HOUR", "0"))

# Each Celery worker process drives up to this many runs at once on one event loop
# (conversations.worker_loop): runs wait on the model, not on the CPU. Celery runs tasks in that
# many threads of the process (a task waits for its run to end, so its message is acknowledged
# only then); `--concurrency` overrides the thread count, never the limit.
FCSTUDIO_WORKER_MAX_RUNS = int(env_str("FCSTUDIO_WORKER_MAX_RUNS", "50"))

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_WORKER_POOL = "threads"
CELERY_WORKER_CONCURRENCY = FCSTUDIO_WORKER_MAX_RUNS
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task whose worker vanished comes back after this long; a run claim makes the second
# delivery resume the run (or skip it when it was reaped meanwhile), never drive it twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600}
CELERY_BEAT_SCHEDULE = (
    {
        "reap-stale-runs": {
            "task": "conversations.reap_runs",
            "schedule": FCSTUDIO_REAP_INTERVAL_SECONDS,
        }
    }
    if FCSTUDIO_REAP_INTERVAL_SECONDS > 0
    else {}
)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Failed log-ins are counted per user name and address together, so a locked-out pair leaves
# that person's other addresses and the address's other people free. The throttle comes
# first and only refuses; ModelBackend (the first with get_user) is what force_login uses.
AUTHENTICATION_BACKENDS = [
    "fcstudio.login_throttle.LoginThrottle",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(env_str("FCSTUDIO_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(env_str("FCSTUDIO_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "fcstudio.login_throttle.locked_out"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / ".staticfiles" if PRODUCTION else None
# Without collectstatic (the embedded mode), serve straight from static/.
WHITENOISE_USE_FINDERS = not PRODUCTION

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # The nonce is for the code editor's own <style> element (CodeMirror's style-mod, given
        # the nonce by static/js/code_editor.js); style attributes stay refused.
        "style-src": ["'self'", NONCE],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    DEBUG = False
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env_str("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"no_traceback_below_500": {"()": "fcstudio.log_filters.NoTracebackBelow500"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"filters": ["no_traceback_below_500"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}
