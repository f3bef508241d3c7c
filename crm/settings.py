"""Dizhi settings. Everything configurable is read from the environment here, and only here."""

import sys
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Installed or checkout (production path, issue #34) ---------------------------------------
# In a checkout the site-wide templates/, static/ and locale/ sit beside manage.py; `pip install .`
# ships them inside crm/site/ (setup.py), and files the app writes go under the environment's
# var/dizhi/ unless STATIC_ROOT, MEDIA_ROOT or DATABASE_URL say otherwise.
CHECKOUT = (BASE_DIR / "manage.py").is_file()
SITE_DIR = BASE_DIR if CHECKOUT else Path(__file__).resolve().parent / "site"
_INSTALLED_VAR = Path(sys.prefix) / "var" / "dizhi"

env = environ.Env()
environ.Env.read_env(
    env.path("DIZHI_ENV_FILE", default=BASE_DIR / ".env" if CHECKOUT else Path.cwd() / ".env"),
    overwrite=False,
)
# --- end installed or checkout ----------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=False)
# The development key is public (it is in this file): with DEBUG off, refuse to start without a
# key of one's own, rather than sign sessions and password-reset links with it (issue #30).
_DEVELOPMENT_KEY = "dizhi-insecure-development-key-change-me"
SECRET_KEY = env.str("SECRET_KEY", default="") or (_DEVELOPMENT_KEY if DEBUG else "")
if not DEBUG and SECRET_KEY in ("", _DEVELOPMENT_KEY):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "SECRET_KEY is not set and DEBUG is off: set SECRET_KEY in the environment or .env "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), or DEBUG=true for development."
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_tasks_db",
    "crm",
    "geo",
    "customers",
    "addresses",
    "maps",
    "imports",
    "ninja", "quality",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SITE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.context_processors.roles",
            ],
        },
    },
]

DATABASES = {
    "default": env.db(
        "DATABASE_URL", default=f"sqlite:///{(BASE_DIR if CHECKOUT else _INSTALLED_VAR) / 'db.sqlite3'}"
    )
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
# SQLite cannot make ColumnPreset's unique-name-per-team constraint treat NULL teams as equal
# (models.W047): the constraint is enforced on PostgreSQL, the production database.
SILENCED_SYSTEM_CHECKS = [] if IS_POSTGRES else ["models.W047"]
if IS_POSTGRES:
    # No JIT compilation: the pages' queries run in milliseconds, and a planner cost estimate
    # over a million rows (a search walking the name order, say) would make PostgreSQL spend
    # a few hundred milliseconds compiling before the first row.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
else:
    # SQLite: readers go on while an import writes (write-ahead log); a writer waits for
    # another instead of failing with "database is locked", and takes the write lock when
    # its transaction begins, so two never deadlock upgrading a read lock.
    _sqlite = DATABASES["default"].setdefault("OPTIONS", {})
    _sqlite.setdefault("timeout", 20)
    _sqlite.setdefault("transaction_mode", "IMMEDIATE")
    _sqlite.setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")

# --- Read replica (issue #34) -----------------------------------------------------------------
# DATABASE_REPLICA_URL: a PostgreSQL streaming replica of DATABASE_URL. The list, map, region
# counts and exports read from it when it has replayed the last data change and the user's own
# last write (crm/replica.py); everything else uses the primary. REPLICA_PIN_SECONDS: how long a
# user's last write is remembered (a cookie) for that check.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL)
    DATABASES["replica"].setdefault("CONN_MAX_AGE", DATABASES["default"]["CONN_MAX_AGE"])
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["crm.replica.PrimaryReplicaRouter"]
REPLICA_PIN_SECONDS = env.int("REPLICA_PIN_SECONDS", default=300)
REPLICA_VIEWS = [
    "customers:list",
    "customers:regions",
    "map:page",
    "map:clusters",
    "map:nearby",
    "imports:export",
    "geo:region_children",
]
# --- end read replica ---------------------------------------------------------------------------

# Customer names sort in pinyin order on PostgreSQL (ICU collation created by a
# migration); SQLite has no ICU, so it falls back to code-point order.
PINYIN_COLLATION = "zh_pinyin" if IS_POSTGRES else None

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [SITE_DIR / "locale"]
FORMAT_MODULE_PATH = ["crm.formats"]  # zh-Hans groups thousands: 60,000 (Django's: 60000)
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [SITE_DIR / "static"]
STATIC_ROOT = env.path(
    "STATIC_ROOT", default=BASE_DIR / "staticfiles" if CHECKOUT else _INSTALLED_VAR / "static"
)
MEDIA_ROOT = env.path(
    "MEDIA_ROOT", default=BASE_DIR / "var" / "media" if CHECKOUT else _INSTALLED_VAR / "media"
)

# --- Static files (production path, issue #34) ------------------------------------------------
# WhiteNoise serves them from the web process: `collectstatic` writes content-hashed names (cached
# for a year) with gzip and brotli copies beside them, and the middleware picks the smallest the
# browser accepts. With DEBUG on (and in tests, tests/conftest.py) files are served as they are,
# without a collectstatic run.
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "crm.staticfiles.HashedCompressedStaticFiles"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# --- end static files ---------------------------------------------------------------------------

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# Background work (django.tasks). In production (DEBUG off) tasks are queued in the database
# for `manage.py db_worker` and survive restarts. With DEBUG on they run in a background thread
# of the web process (crm.tasks_thread), after the enqueuing transaction commits; `immediate`
# runs them inline, in the request.
_TASK_BACKENDS = {
    "thread": "crm.tasks_thread.ThreadBackend",
    "immediate": "django.tasks.backends.immediate.ImmediateBackend",
    "database": "django_tasks_db.DatabaseBackend",
    "dummy": "django.tasks.backends.dummy.DummyBackend",
}
TASKS = {
    "default": {
        "BACKEND": _TASK_BACKENDS[env.str("TASKS_BACKEND", default="thread" if DEBUG else "database")]
    }
}

# Upload-page imports of at least IMPORT_PARALLEL_MIN_ROWS rows write with this many
# processes (each starts a fresh interpreter: a second or two, worth it on big files).
# SQLite takes one writer at a time, so more would only queue.
IMPORT_WORKERS = env.int("IMPORT_WORKERS", default=2 if IS_POSTGRES else 1)
IMPORT_PARALLEL_MIN_ROWS = env.int("IMPORT_PARALLEL_MIN_ROWS", default=50_000)

# Geocoding: the offline geocoder (region centroids) is always there; an online
# provider (any geopy geocoder name, e.g. "nominatim", "baidu", "gaode"...) is optional.
GEOCODER = {
    "PROVIDER": env.str("GEOCODER_PROVIDER", default=""),
    "API_KEY": env.str("GEOCODER_API_KEY", default=""),
    "DOMAIN": env.str("GEOCODER_DOMAIN", default=""),
    "SCHEME": env.str("GEOCODER_SCHEME", default="https"),
    "USER_AGENT": env.str("GEOCODER_USER_AGENT", default="dizhi-crm"),
    "RATE_LIMIT_PER_SECOND": env.float("GEOCODER_RATE_LIMIT", default=1.0),
    "TIMEOUT": env.float("GEOCODER_TIMEOUT", default=5.0),
    "RETRIES": env.int("GEOCODER_RETRIES", default=2),
    "CACHE_TIMEOUT": env.int("GEOCODER_CACHE_TIMEOUT", default=60 * 60 * 24 * 30),
    # Coordinate system the provider answers in (AMap/Tencent: gcj02, Baidu: bd09).
    "CRS": env.str("GEOCODER_CRS", default="wgs84"),
}

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://dizhi")}

# Map tiles: "osm", "amap" or "none" (offline outlines only).
MAP_TILES = env.str("MAP_TILES", default="none")
# Road distances for visit routes: an OSRM server (e.g. http://127.0.0.1:5000); empty = straight lines.
OSRM_URL = env.str("OSRM_URL", default="")

# Security: strict defaults when DEBUG is off (`manage.py check --deploy` clean).
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# --- Logging (production path, issue #34) -------------------------------------------------------
# LOG_FORMAT=json writes one JSON object a line (time, level, logger, message, and the request's
# method, path and status where Django logs one) for a log collector; `text` is for people.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

# Plain HTTP with DEBUG off, for a test server or behind a proxy that does not forward the
# scheme: no HTTPS redirect, no secure-only cookies, no HSTS. Never on a public address.
if not DEBUG and env.bool("ALLOW_PLAIN_HTTP", default=False):
    SECURE_SSL_REDIRECT = SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
    SECURE_HSTS_SECONDS = 0
# A load balancer's health check asks over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
MIDDLEWARE += ["crm.replica.ReplicaReadMiddleware"]  # a no-op without DATABASE_REPLICA_URL
# --- end logging ---------------------------------------------------------------------------------

# --- Trust (issue #30) ---------------------------------------------------------------------------
# SECURE_PROXY_SSL_HEADER only when the proxy in front is known to set it (and strip it from
# clients): e.g. `SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https`. gunicorn already takes
# the scheme from FORWARDED_ALLOW_IPS proxies without it.
if _proxy_ssl_header := env.list("SECURE_PROXY_SSL_HEADER", default=[]):
    SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header)
INSTALLED_APPS += ["axes", "trust"]
# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT failures for one username from one
# address, that pair is locked out until an admin unlocks it (admin: Axes › Access attempts) or
# LOGIN_LOCKOUT_MINUTES pass (0: only an admin unlocks). The axes backend comes first, so a
# locked-out attempt never reaches the password hasher.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
_lockout_minutes = env.int("LOGIN_LOCKOUT_MINUTES", default=60)
AXES_COOLOFF_TIME = _lockout_minutes / 60 if _lockout_minutes else None  # hours
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "trust/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "trust.login.client_ip"
AXES_VERBOSE = False
# Proxies in front of the web server that append the client's address to X-Forwarded-For (0: use
# the connection's address): lockouts are per client address, not per proxy.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# The key of the address history's HMAC chain (addresses/history.py): kept outside the database,
# so whoever can write the database cannot rewrite history unseen. Derived from SECRET_KEY unless
# set; set it on its own so that rotating SECRET_KEY leaves the history verifiable.
import hashlib as _hashlib  # noqa: E402
import hmac as _hmac  # noqa: E402

HISTORY_KEY = (
    env.str("HISTORY_KEY", default="")
    or _hmac.new(SECRET_KEY.encode(), b"dizhi-address-history", _hashlib.sha256).hexdigest()
)
# The audit trail (trust.AuditEntry) keeps entries this many days; `manage.py audit_prune` (run
# daily) deletes older ones, the only deletion PostgreSQL lets through.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=3 * 365)
# Content-Security-Policy (Django's own middleware): scripts only from this site, no inline script
# and no eval; inline style attributes stay allowed (templates use a few); map tiles from the
# configured provider. Idle sessions end after SESSION_IDLE_MINUTES without a request.
from django.utils.csp import CSP  # noqa: E402

MIDDLEWARE += [
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "trust.middleware.IdleSessionMiddleware",
]
_TILE_HOSTS = {"osm": ["https://tile.openstreetmap.org"], "amap": ["https://*.is.autonavi.com"]}
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", *_TILE_HOSTS.get(MAP_TILES, [])],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=120)
# --- end trust ---------------------------------------------------------------------------------------
# --- REST API and webhooks (issue #31, api/) -------------------------------------------------------
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=20 * 1024 * 1024)  # a 10,000-item bulk call fits
API_MAX_ITEMS = env.int("API_MAX_ITEMS", default=10_000)
API_PAGE_SIZE_MAX = 200
API_RATE_LIMIT_PER_MINUTE = env.int("API_RATE_LIMIT_PER_MINUTE", default=600)  # per token; 0 = no limit
# Webhooks: exponential backoff (5 s, 10 s, 20 s ... capped at an hour) over about 24 h, then the
# delivery fails; an endpoint is disabled after this many failed deliveries in a row.
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=5.0)
WEBHOOK_RETRY_WINDOW_HOURS = env.float("WEBHOOK_RETRY_WINDOW_HOURS", default=24.0)
WEBHOOK_DISABLE_AFTER_FAILURES = env.int("WEBHOOK_DISABLE_AFTER_FAILURES", default=20)
# Delivery to loopback, private, link-local or reserved addresses is refused unless allowed here
# (tests allow it for a receiver on 127.0.0.1).
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=False)
# --- analysis (issue 32): orders, scores, lifecycle ----------------------------------------------
INSTALLED_APPS += ["analysis"]
ANALYSIS_BASE_CURRENCY = "CNY"
# Units of the base currency per unit of each accepted currency; an order in any other is refused.
ANALYSIS_EXCHANGE_RATES = env.json(
    "ANALYSIS_EXCHANGE_RATES",
    default={"CNY": 1, "HKD": 0.92, "USD": 7.2, "EUR": 7.8, "GBP": 9.1, "JPY": 0.048},
)
# Churn risk: silent for more than this many times the customer's usual interval between orders,
# or, with a single order, for this many days. Lost (流失) after ANALYSIS_LOST_DAYS without one.
ANALYSIS_CHURN_INTERVAL_MULTIPLE = env.float("ANALYSIS_CHURN_INTERVAL_MULTIPLE", default=2.0)
ANALYSIS_CHURN_SINGLE_ORDER_DAYS = env.int("ANALYSIS_CHURN_SINGLE_ORDER_DAYS", default=180)
ANALYSIS_LOST_DAYS = env.int("ANALYSIS_LOST_DAYS", default=365)
# --- end analysis --------------------------------------------------------------------------------
# Deleted customers and addresses stay restorable from the trash page for this many days;
# `manage.py trash_purge` removes older ones for good.
TRASH_DAYS = env.int("TRASH_DAYS", default=30)
# Whether sales users may create address categories (editing and deleting stay with managers).
SALES_MAY_CREATE_CATEGORIES = env.bool("SALES_MAY_CREATE_CATEGORIES", default=False)
