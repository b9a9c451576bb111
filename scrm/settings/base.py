"""Settings shared by every environment.

Everything that differs between machines comes from the environment (django-environ).
The defaults here are safe for development only; scrm.settings.prod refuses them.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("SCRM_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(BASE_DIR / ".env", overwrite=False)

# Development-only defaults. Production settings refuse to start with them.
DEV_SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105
DEV_FIELD_ENCRYPTION_KEY = "ZGV2LW9ubHktZmllbGQta2V5LW5vdC1mb3ItcHJvZCE="

SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default=DEV_FIELD_ENCRYPTION_KEY)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "scrm",
    "customers",
    "social",
    "influence",
    "loyalty",
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
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "scrm.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "scrm.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "scrm.wsgi.application"

# --- Database -------------------------------------------------------------------------
# Embedded default: SQLite under var/. Production and CI: DATABASE_URL (PostgreSQL).
# An empty DATABASE_URL means "not set" (the Makefile's demo target clears it on purpose).
DATABASES = {
    "default": env.db_url_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'scrm.sqlite3'}"
    ),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + IMMEDIATE transactions let the web process and the demo worker share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Celery would close the connection around every task otherwise (scrm/celery.py closes
    # it when CONN_MAX_AGE says so); it still recycles it after this many tasks.
    CELERY_DB_REUSE_MAX = 1000

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (throttling, idempotency locks) -------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "scrm",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Celery ---------------------------------------------------------------------------
# Redis when REDIS_URL is set; otherwise kombu's filesystem transport (embedded demo).
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
else:
    _queue_dir = VAR_DIR / "celery"
    for _folder in ("queue", "processed", "control"):
        (_queue_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "resolve-identities-nightly": {
        "task": "customers.resolve_identities",
        "schedule": crontab(hour=2, minute=30),
    },
    "poll-due-listening-rules": {
        "task": "social.poll_due_rules",
        "schedule": 60.0,
    },
    "assign-new-cases": {
        "task": "social.assign_cases",
        "schedule": 60.0,
    },
    "recompute-scores-nightly": {
        "task": "influence.recompute_scores",
        "schedule": crontab(hour=3, minute=30),
    },
    "refresh-recent-post-rollups": {
        "task": "influence.refresh_rollups",
        "schedule": 300.0,
    },
}

# --- Auth -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- I18N -----------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Paris")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "scrm.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["scrm.api.permissions.ScopedPermission"],
    "DEFAULT_THROTTLE_CLASSES": ["scrm.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "scrm.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "scrm.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Requests per minute for a partner key that does not set its own rate.
API_KEY_DEFAULT_RATE_PER_MINUTE = env.int("API_KEY_DEFAULT_RATE_PER_MINUTE", default=600)
# How long an Idempotency-Key is remembered.
IDEMPOTENCY_TTL_HOURS = env.int("IDEMPOTENCY_TTL_HOURS", default=24)

SPECTACULAR_SETTINGS = {
    "TITLE": "Social CRM API",
    "DESCRIPTION": (
        "Partner API of the Social CRM: customers, identity resolution, social posts, "
        "cases, scores, surveys and loyalty. Authenticate with `Authorization: Bearer "
        "<api key>`; each endpoint names the scope it needs."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {"SurveyKindEnum": "influence.models.SurveyKind"},
}

# --- Domain settings ------------------------------------------------------------------
# Identity resolution: pairs at or above the first probability merge automatically,
# those between the two wait for a person in the review queue, the rest are dropped.
RESOLUTION_AUTO_MERGE_THRESHOLD = env.float("RESOLUTION_AUTO_MERGE_THRESHOLD", default=0.99)
RESOLUTION_REVIEW_THRESHOLD = env.float("RESOLUTION_REVIEW_THRESHOLD", default=0.5)
# Customers created or changed through the API are resolved this many seconds later, together.
RESOLUTION_DEBOUNCE_SECONDS = env.int("RESOLUTION_DEBOUNCE_SECONDS", default=60)
# A social account is linked to a customer automatically only with at least this confidence.
IDENTITY_LINK_MIN_CONFIDENCE = env.float("IDENTITY_LINK_MIN_CONFIDENCE", default=0.8)
# Region used to read phone numbers written without a country code.
PHONE_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="FR")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- Social listening -----------------------------------------------------------------
# Posts asked for per page when polling, and pages read per poll of a rule at most.
SOCIAL_POLL_PAGE_SIZE = env.int("SOCIAL_POLL_PAGE_SIZE", default=100)
SOCIAL_POLL_MAX_PAGES = env.int("SOCIAL_POLL_MAX_PAGES", default=10)
# SLA targets a new installation starts with, in minutes: (first response, resolution)
# per priority band; admins change them on the SLA page afterwards.
SOCIAL_SLA_TARGETS = {"high": (60, 480), "normal": (240, 1440), "low": (1440, 4320)}
# How long "X is replying" holds a case for one agent without a new keystroke.
SOCIAL_REPLY_LOCK_SECONDS = env.int("SOCIAL_REPLY_LOCK_SECONDS", default=120)
# Facebook webhooks: the token you type in the app's webhook settings, and the app
# secret that signs every delivery (X-Hub-Signature-256). Empty: webhooks refused.
FACEBOOK_WEBHOOK_VERIFY_TOKEN = env.str("FACEBOOK_WEBHOOK_VERIFY_TOKEN", default="")
FACEBOOK_APP_SECRET = env.str("FACEBOOK_APP_SECRET", default="")

# --- Scores, referrals and value (docs/scores.md, shared metrics) -----------------------
# Influence score = weighted percentile ranks of its components; the weights need not sum to 1.
INFLUENCE_WEIGHTS = {
    "pagerank": env.float("INFLUENCE_WEIGHT_PAGERANK", default=0.35),
    "reach": env.float("INFLUENCE_WEIGHT_REACH", default=0.20),
    "engagement": env.float("INFLUENCE_WEIGHT_ENGAGEMENT", default=0.20),
    "participation": env.float("INFLUENCE_WEIGHT_PARTICIPATION", default=0.15),
    "sentiment": env.float("INFLUENCE_WEIGHT_SENTIMENT", default=0.10),
}
# An interaction counts half as much in the graph after this many days.
INFLUENCE_HALF_LIFE_DAYS = env.float("INFLUENCE_HALF_LIFE_DAYS", default=90.0)
# Posts of the last N days make a customer's sentiment index and participation.
SCORES_SENTIMENT_WINDOW_DAYS = env.int("SCORES_SENTIMENT_WINDOW_DAYS", default=90)
# CLV: horizon and monthly discount rate; customers whose first purchase is younger than
# this many days (or who never bought) get their cohort's average, flagged as such.
SCORES_CLV_HORIZON_MONTHS = env.int("SCORES_CLV_HORIZON_MONTHS", default=12)
SCORES_MONTHLY_DISCOUNT = env.float("SCORES_MONTHLY_DISCOUNT", default=0.01)
SCORES_CLV_MIN_HISTORY_DAYS = env.int("SCORES_CLV_MIN_HISTORY_DAYS", default=30)
# CLV counts a purchase recorded without its margin as amount * this rate.
SCORES_DEFAULT_MARGIN_RATE = env.float("SCORES_DEFAULT_MARGIN_RATE", default=0.3)
# Segments: CLV and CRV above these are "high"; unset = the median of the run.
SCORES_SEGMENT_CLV_THRESHOLD = env.float("SCORES_SEGMENT_CLV_THRESHOLD", default=None)
SCORES_SEGMENT_CRV_THRESHOLD = env.float("SCORES_SEGMENT_CRV_THRESHOLD", default=None)
# Referrals: what acquiring a customer costs without a referral (a type 2 referral saves
# it), the reward a converted referral pays by default, and where a referral link leads.
REFERRAL_ACQUISITION_COST = env.float("REFERRAL_ACQUISITION_COST", default=30.0)
REFERRAL_DEFAULT_REWARD = env.float("REFERRAL_DEFAULT_REWARD", default=10.0)
REFERRAL_LANDING_URL = env.str("REFERRAL_LANDING_URL", default="")
# Money shown on the dashboards (amounts are stored in their own currency).
REPORTING_CURRENCY = env.str("REPORTING_CURRENCY", default="EUR")
