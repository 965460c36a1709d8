"""All settings, from the environment, in one module.

Every setting is one documented `env(...)` call; the README's configuration table lists them.
There is no separate production module: production is this module with DEBUG off and the
required variables set, which is what `check --deploy` is run against.
"""

import os
import secrets
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent


class _Env(environ.Env):
    """django-environ, with every configuration error as one sentence saying what to set."""

    def get_value(self, var: str, *args: object, **kwargs: object) -> object:
        try:
            return super().get_value(var, *args, **kwargs)
        except ImproperlyConfigured:
            raise ImproperlyConfigured(
                f"Set the environment variable {var} (see the README's configuration table)."
            ) from None
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(
                f"The environment variable {var} is not valid ({exc}); "
                "see the README's configuration table."
            ) from None

    # A switch is one of these words (any case); django-environ reads any other word as off, so
    # SECURE_COOKIES=maybe or IDENTITY_REJECT_UNKNOWN_REVOCATION=ture turned a protection off
    # without a word. Now such a value is refused, naming the variable.
    SWITCH_ON = ("1", "on", "true", "yes", "y", "ok")
    SWITCH_OFF = ("0", "off", "false", "no", "n", "")

    def _refuse(self, var: str, raw: object, what: str) -> ImproperlyConfigured:
        return ImproperlyConfigured(
            f"The environment variable {var} is not valid ({raw!r}: {what}); "
            "see the README's configuration table."
        )

    def bool(self, var: str, default: object = environ.Env.NOTSET) -> bool:
        raw = self.ENVIRON.get(var)
        if raw is None:
            return bool(super().bool(var, default=default))
        word = raw.strip().lower()
        if word in self.SWITCH_ON:
            return True
        if word in self.SWITCH_OFF:
            return False
        raise self._refuse(var, raw, "give 1 or 0, on or off, true or false, yes or no")

    def int(
        self,
        var: str,
        default: object = environ.Env.NOTSET,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int:
        value = int(super().int(var, default=default))
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            bound = f"of at least {minimum}" if maximum is None else f"from {minimum} to {maximum}"
            raise self._refuse(var, self.ENVIRON.get(var, value), f"give a whole number {bound}")
        return value

    def float(
        self, var: str, default: object = environ.Env.NOTSET, above: float | None = None
    ) -> float:
        value = float(super().float(var, default=default))
        if above is not None and not value > above:
            raise self._refuse(var, self.ENVIRON.get(var, value), f"give a number above {above:g}")
        return value

    def origin(self, var: str, default: str) -> str:
        """An origin (scheme, host, optional port) as a browser writes it; "" stays "".

        Card tokens are signed over the page's origin and compared with this one as text, so a
        value without its scheme, or with a path, refused every card; a trailing slash is dropped.
        """
        raw = self.str(var, default=default)
        return self._origin(var, raw, raw)

    def _origin(self, var: str, raw: str, value: str) -> str:
        if value == "":
            return value
        what = (
            "give an origin: http:// or https://, a host and an optional port, with no path, "
            "such as https://madoguchi.example.jp or http://127.0.0.1:8000"
        )
        try:
            parts = urlsplit(value.strip())
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            raise self._refuse(var, raw, what) from None
        if (
            parts.scheme.lower() not in ("http", "https")
            or not parts.hostname
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or "@" in parts.netloc
        ):
            raise self._refuse(var, raw, what)
        return f"{parts.scheme.lower()}://{parts.netloc.lower()}"

    def origins_by_name(self, var: str) -> dict[str, str]:
        """NAME=ORIGIN pairs separated by commas, each origin as `origin` reads it."""
        raw = self.str(var, default="")
        pairs: dict[str, str] = {}
        for entry in (item.strip() for item in raw.split(",")):
            if not entry:
                continue
            name, sep, value = entry.partition("=")
            if not sep or not name.strip():
                raise self._refuse(
                    var,
                    raw,
                    "give NAME=ORIGIN pairs separated by commas, such as "
                    "desk-01=http://127.0.0.1:47110,desk-02=http://127.0.0.1:47111",
                )
            pairs[name.strip()] = self._origin(var, raw, value)
        return pairs

    def log_level(self, var: str, default: str) -> str:
        raw = self.str(var, default=default)
        level = raw.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise self._refuse(var, raw, "give DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level


env = _Env()

# Where runtime files (SQLite database, card files, checkpoints) live by default.
DATA_DIR = Path(env.str("MADOGUCHI_DATA_DIR", default=str(Path.cwd() / "var")))

DEBUG = env.bool("DEBUG", default=False)
# Demo mode: the one-command demo desk (virtual card tray, seeded residents, printed sign-ins).
DEMO = env.bool("MADOGUCHI_DEMO", default=False)
# Set by the `madoguchi` script for commands that need no database and no secret (namecheck,
# vcard, card, sim, agent, bench, the scan over files, audit check-proof): they run with no
# configuration at all.
STANDALONE = env.bool("MADOGUCHI_STANDALONE", default=False)


def _local_secret_key() -> str:
    """A per-installation key for debug and demo runs, created once in DATA_DIR. A data folder
    that cannot hold it (a file of that name, a folder this user cannot write) is one line
    naming MADOGUCHI_DATA_DIR: it was a FileExistsError or PermissionError traceback from
    these settings, before any command ran."""
    path = DATA_DIR / "secret_key"
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(50))
            path.chmod(0o600)
        return path.read_text().strip()
    except OSError as exc:
        if DATA_DIR.exists() and not DATA_DIR.is_dir():
            why = "it is a file, not a folder"
        else:
            why = f"{exc.strerror or type(exc).__name__}: {exc.filename or path}"
        raise ImproperlyConfigured(
            f"MADOGUCHI_DATA_DIR ({DATA_DIR.absolute()}) cannot hold the development key "
            f"({why}): set MADOGUCHI_DATA_DIR to a folder this user can write, or SECRET_KEY."
        ) from None


if DEBUG or DEMO:
    SECRET_KEY = env.str("SECRET_KEY", default="") or _local_secret_key()
elif STANDALONE:
    # Signs nothing that outlives the process; never written anywhere.
    SECRET_KEY = env.str("SECRET_KEY", default="") or secrets.token_urlsafe(50)
else:
    try:
        SECRET_KEY = env.str("SECRET_KEY")
    except ImproperlyConfigured:
        # Beside the demo's data (`make demo` ran in this folder), the setting that reaches it.
        beside_demo = (
            " For the demo's data here, run it as `make demo` prints: "
            "MADOGUCHI_DEMO=1 .venv/bin/madoguchi COMMAND."
            if (DATA_DIR / "demo").is_dir()
            else ""
        )
        raise ImproperlyConfigured(
            "Set SECRET_KEY to a long random string (python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'), or DEBUG=1 for a local development key."
            + beside_demo
        ) from None

# Key for account-identifier hashes (HMAC); separate from SECRET_KEY so it can be rotated apart.
IDENTIFIER_HASH_KEY = env.str("IDENTIFIER_HASH_KEY", default=SECRET_KEY)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

_DATABASE_URL_WANTED = (
    "give postgres://USER@HOST:PORT/DATABASE or sqlite:///ABSOLUTE/PATH "
    "(unset, it is madoguchi.sqlite3 in MADOGUCHI_DATA_DIR, by default var in the current "
    "folder)."
)


def _database_url_refused(what: str = "") -> ImproperlyConfigured:
    """The one line for a DATABASE_URL that cannot be a database; `what` never quotes the URL,
    which may hold a password."""
    return ImproperlyConfigured(
        f"DATABASE_URL is not valid{f' ({what})' if what else ''}: {_DATABASE_URL_WANTED}"
    )


def _malformed_host(url: str) -> str:
    """What is wrong in a URL urllib could not split (a port, or an IPv6 host's bracket)."""
    host = url.partition("://")[2].split("/", 1)[0].rpartition("@")[2]
    if host.count("[") != host.count("]"):
        return "an IPv6 host's [ is not closed by ], as in [::1]:5432"
    return "the port after HOST: is not a whole number from 0 to 65535"


def _sqlite_host(url: str) -> bool:
    """Whether a SQLite URL has a host part (`sqlite://relative.db`, `sqlite://localhost/x`):
    django-environ drops it with a warning, reading the first as a database in memory and the
    second as a relative path."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() == "sqlite" and parts.netloc not in ("", ":memory:")


_SQLITE_ABSOLUTE = "as in sqlite:////srv/madoguchi/madoguchi.sqlite3"

with warnings.catch_warnings():
    # django-environ warns "Engine not recognized from url" for a URL with no scheme
    # (`nonsense`), and "SQLite URL contains host component" (twice, with the source line) for
    # `sqlite://relative.db`: each refused in one line, with no warning before it.
    warnings.filterwarnings("ignore", "Engine not recognized", UserWarning)
    warnings.filterwarnings("ignore", "SQLite URL contains host component", UserWarning)
    if _sqlite_host(env.str("DATABASE_URL", default="")):
        raise _database_url_refused(
            "a SQLite URL with a host component: the file's absolute path follows sqlite:// "
            f"with no host, {_SQLITE_ABSOLUTE}"
        )
    try:
        DATABASES = {
            "default": env.db_url(
                "DATABASE_URL",
                # absolute(): a relative MADOGUCHI_DATA_DIR is not a relative DATABASE_URL.
                default=f"sqlite:///{(DATA_DIR / 'madoguchi.sqlite3').absolute()}",
            )
        }
    except ValueError:
        # urllib's "Port could not be cast to integer value" or "Port out of range", raised
        # while django-environ splits the URL: it was a traceback from the settings.
        raise _database_url_refused(_malformed_host(env.str("DATABASE_URL"))) from None
if DATABASES["default"].get("NAME") == ":memory:":
    # `sqlite://` (no path, or :memory:) is SQLite in memory: `migrate` migrated a database
    # gone when it exited, and every later command said "not migrated: run madoguchi migrate".
    raise _database_url_refused(
        "a SQLite URL with no file is a database in memory, gone when the command ends"
    )
if DATABASES["default"].get("ENGINE") == "django.db.backends.sqlite3" and not os.path.isabs(
    DATABASES["default"].get("NAME") or "/"
):
    # `sqlite:///relative.db` named relative.db in whatever folder a command ran in: `migrate`
    # in one, then `serve` in another said "not migrated" and left an empty file there.
    raise _database_url_refused(
        f"a SQLite file's path must be absolute, {_SQLITE_ABSOLUTE}: a relative one names "
        "another file in each folder a command runs in"
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections (one per worker thread), checked before each request's first use:
# opening a connection per request cost more than the request's own queries (issue 15).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=300, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The same backends with the audit log appended at commit (madoguchi.audit.backends).
_AUDIT_BACKENDS = {
    "django.db.backends.postgresql": "madoguchi.audit.backends.postgresql",
    "django.db.backends.sqlite3": "madoguchi.audit.backends.sqlite3",
}
# No ENGINE at all for a URL without a scheme (`nonsense`, `pgsql`): it was KeyError's traceback.
_ENGINE = DATABASES["default"].get("ENGINE", "")
if _ENGINE not in _AUDIT_BACKENDS or not DATABASES["default"].get("NAME"):
    # One line saying what to set, not Django's traceback from loading a backend.
    raise _database_url_refused()
DATABASES["default"]["ENGINE"] = _AUDIT_BACKENDS.get(_ENGINE, _ENGINE)
if _ENGINE == "django.db.backends.sqlite3":
    # Serialise writers instead of failing fast on a busy database.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE"}
    )
    # Tests run on a file, not in memory: concurrent tests need real separate connections.
    # One file per test process, so that parallel runs on one machine do not collide.
    DATABASES["default"]["TEST"] = {"NAME": f"{DATABASES['default']['NAME']}.test-{os.getpid()}"}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
if _ENGINE == "django.db.backends.postgresql" and env.bool("DATABASE_SERVER_BINDING", default=True):
    # Parameters bound by PostgreSQL, not spliced into the SQL text by psycopg; a statement run
    # PREPARE_THRESHOLD times on a connection is prepared there (parsed and planned once).
    # Off for a pooler that cannot keep prepared statements (issue 15, docs/performance.md).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "server_side_binding": True,
            "prepare_threshold": env.int("DATABASE_PREPARE_THRESHOLD", default=2, minimum=0),
        }
    )

INSTALLED_APPS = [
    "madoguchi.accounts.admin_apps.MadoguchiAdminConfig",  # django.contrib.admin, with TOTP
    # Before django.contrib.auth: its management commands take the place of auth's
    # (createsuperuser and changepassword, which would change accounts without an audit event).
    "madoguchi.accounts",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_htmx",
    "madoguchi.accounts.axes_app.AxesConfig",  # django-axes, its name translated
    # django-ninja: its Swagger UI page (/api/v1/docs) from its own static files, not a CDN
    # that the pages' Content-Security-Policy (script-src 'self') would refuse.
    "ninja",
    "madoguchi.core",
    "madoguchi.audit",
    "madoguchi.once",
    "madoguchi.terminals",
    "madoguchi.identity",
    "madoguchi.incidents",
    "madoguchi.desk",
    "madoguchi.benefits",
    "madoguchi.checklists",
    "madoguchi.officials",
    "madoguchi.reports",
    "madoguchi.cases",
    "madoguchi.scans",
    "madoguchi.residents",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside every middleware and view that can redirect: an htmx request's redirect is sent
    # as HX-Redirect (docs/desk.md "A redirect answering a tick").
    "madoguchi.core.middleware.HtmxRedirectMiddleware",
    "madoguchi.core.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "madoguchi.core.middleware.LanguageFromQueryMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "madoguchi.core.middleware.JsonBodyOnlyMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "madoguchi.core.middleware.StaffSessionLimitsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "madoguchi.core.csp.CSPMiddleware",
    "madoguchi.core.middleware.MethodNotAllowedMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]
# `madoguchi bench completion` starts the server with MADOGUCHI_BENCH=1: the floor view and
# per-process SQL counters (madoguchi.core.bench.server). Never set it in production.
MADOGUCHI_BENCH = env.bool("MADOGUCHI_BENCH", default=False)
if MADOGUCHI_BENCH:
    MIDDLEWARE.insert(0, "madoguchi.core.bench.server.BucketMiddleware")

ROOT_URLCONF = "madoguchi.urls"
WSGI_APPLICATION = "madoguchi.wsgi.application"

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
                "django.template.context_processors.i18n",
            ],
            # Django's i18n library with constant `translate`s remembered (issue 15).
            "libraries": {
                "i18n": "madoguchi.template_i18n",
                "dates": "madoguchi.dates",
                "markup": "madoguchi.markup",
            },
        },
    }
]

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"

# Brute-force protection on staff sign-in (django-axes).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5, minimum=1)
# Failed sign-ins from one client address in a minute, whatever the user names (a spray),
# after which that address is refused for the rest of the minute without a password check.
SIGN_IN_FAILURES_PER_MINUTE = env.int("SIGN_IN_FAILURES_PER_MINUTE", default=20, minimum=1)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5, above=0)  # hours
# Counted per user name, not per address: a city's desks share one network address, and
# per-address counting would let one person's typing lock every desk (ADR 0003).
AXES_LOCKOUT_PARAMETERS = ["username"]
# templates.W003: the name `i18n` is ours on purpose (TEMPLATES above; Django's library with
# constant translations remembered); tests/test_template_i18n.py runs the check and allows no
# other name to be claimed twice.
SILENCED_SYSTEM_CHECKS = ["axes.W006", "templates.W003"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "madoguchi.accounts.views.lockout_response"
AXES_VERBOSE = False

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(DATA_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Sessions: staff sessions are short and never outlive the browser.
SESSION_COOKIE_AGE = env.int("STAFF_SESSION_SECONDS", default=8 * 3600, minimum=1)
# A staff session ends this long after its sign-in, however often it is used or saved
# (accounts.services.session_check), and after STAFF_IDLE_SECONDS without a request.
STAFF_SESSION_SECONDS = SESSION_COOKIE_AGE
STAFF_IDLE_SECONDS = env.int("STAFF_IDLE_SECONDS", default=30 * 60, minimum=1)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "madoguchi.core.views.csrf_failure"

# Transport security: on unless DEBUG (the demo and tests run over plain http on loopback).
SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
# The language choice (the header's switch, ?lang=) is no script's business and goes with the
# session's cookie rules.
LANGUAGE_COOKIE_SECURE = SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=SECURE)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if SECURE else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy on every page (django-csp 4). The card agent's PIN pad is framed from
# its own localhost origin, so frame-src names it.
CARD_AGENT_ORIGIN = env.origin("CARD_AGENT_ORIGIN", default="http://127.0.0.1:47110")
# Several terminals on one machine (the demo): terminal name -> its agent's origin,
# e.g. "desk-01=http://127.0.0.1:47110,desk-02=http://127.0.0.1:47111".
CARD_AGENT_ORIGINS: dict[str, str] = env.origins_by_name("CARD_AGENT_ORIGINS")
# The card agent the resident page (/me/) talks to (a kiosk's, or the resident's own computer's).
# Empty: CARD_AGENT_ORIGIN.
RESIDENT_AGENT_ORIGIN = env.origin("RESIDENT_AGENT_ORIGIN", default="")
_AGENT_ORIGINS = sorted(
    {CARD_AGENT_ORIGIN, *CARD_AGENT_ORIGINS.values()} | ({RESIDENT_AGENT_ORIGIN} - {""})
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'", *_AGENT_ORIGINS],
        "frame-src": _AGENT_ORIGINS,
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # A refused request (4xx) is one line (who, what, why), not a traceback; a 5xx keeps its.
    # No line holds a long number (an individual number): a 404's path, an exception's text
    # (madoguchi.logsafe; docs/security.md, round 8). After the refusals' one line is made.
    "filters": {
        "refusals": {"()": "madoguchi.core.logfilters.RefusalsOnOneLine"},
        "logsafe": {"()": "madoguchi.logsafe.Scrubbed"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["refusals", "logsafe"]}},
    "root": {"handlers": ["console"], "level": env.log_level("LOG_LEVEL", default="INFO")},
    # WeasyPrint's "Step N - …" progress lines and fontTools' subsetting notes are not for
    # the people reading a command's output or the server's log.
    "loggers": {
        "axes": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "weasyprint.progress": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# madoguchi's own settings.
AUDIT_LOG_ORIGIN = env.str("AUDIT_LOG_ORIGIN", default="madoguchi.local/audit")
# Signed Merkle checkpoints of the audit log (docs/audit.md): the Ed25519 key that signs them,
# where they are written outside the database, and an optional verifier key.
AUDIT_CHECKPOINT_KEY_FILE = Path(
    env.str(
        "AUDIT_CHECKPOINT_KEY_FILE", default=str(DATA_DIR / "keys" / "audit-checkpoint-ed25519.pem")
    )
)
AUDIT_CHECKPOINT_DIR = Path(env.str("AUDIT_CHECKPOINT_DIR", default=str(DATA_DIR / "checkpoints")))
AUDIT_CHECKPOINT_KEY_NAME = env.str("AUDIT_CHECKPOINT_KEY_NAME", default="")  # "": the origin
AUDIT_CHECKPOINT_VERIFIER_KEY = env.str("AUDIT_CHECKPOINT_VERIFIER_KEY", default="")

# The origin the desk pages are served from; card tokens are signed over it.
MADOGUCHI_ORIGIN = env.origin("MADOGUCHI_ORIGIN", default="http://127.0.0.1:8000")
# Issue 4: "at most 5 minutes"; a longer one let a signed token for a challenge be replayed
# for as long as it lived.
NONCE_LIFETIME_SECONDS = env.int("NONCE_LIFETIME_SECONDS", default=300, minimum=1, maximum=300)
# The resident's own page (/me/): the origin its card tokens are signed over (its own, so a
# desk token never signs in there), the card agent it talks to, its limits, the call centre.
# Empty: MADOGUCHI_ORIGIN (the page is then told apart by its challenges alone).
RESIDENT_ORIGIN = env.origin("RESIDENT_ORIGIN", default="")
# The idle and presence limits are bounded as the desk's visit (at most 5 minutes of inactivity
# after authentication; a card's absence noticed within a minute): an hour kept a page open an
# hour after the resident left it, or after their card was taken away.
RESIDENT_IDLE_SECONDS = env.int("RESIDENT_IDLE_SECONDS", default=120, minimum=1, maximum=300)
# A resident's session ends this long after the card signed in, however active.
RESIDENT_ABSOLUTE_SECONDS = env.int("RESIDENT_ABSOLUTE_SECONDS", default=30 * 60, minimum=1)
RESIDENT_PRESENCE_TIMEOUT_SECONDS = env.int(
    "RESIDENT_PRESENCE_TIMEOUT_SECONDS", default=6, minimum=1, maximum=60
)
# Sign-in challenges one client address may ask for in a minute (unauthenticated: each is a row).
RESIDENT_CHALLENGES_PER_MINUTE = env.int("RESIDENT_CHALLENGES_PER_MINUTE", default=30, minimum=1)
RESIDENT_CALL_CENTRE = env.str("RESIDENT_CALL_CENTRE", default="0120-95-0178")
# How many times the desk may email one completion's notice (residents.completion_email).
RESIDENT_EMAILS_PER_COMPLETION = env.int("RESIDENT_EMAILS_PER_COMPLETION", default=3, minimum=0)
# How many comparisons with a different result the cases of one resident and programme may make
# (cases.services.review): without a limit, same/different answered without end would reveal
# the registered number.
CASE_COMPARISONS_DIFFERENT_MAX = env.int("CASE_COMPARISONS_DIFFERENT_MAX", default=5, minimum=0)
# Refuse a card when no fresh CRL can say whether it is revoked (fail closed).
IDENTITY_REJECT_UNKNOWN_REVOCATION = env.bool("IDENTITY_REJECT_UNKNOWN_REVOCATION", default=True)
# Visit limits (seconds): inactivity, absolute, and how long the agent may stay silent.
# Inactivity: the reference's "at most 5 minutes of inactivity after authentication"; a longer
# one kept a visit signed in that long after the desk was left.
VISIT_INACTIVITY_SECONDS = env.int("VISIT_INACTIVITY_SECONDS", default=300, minimum=1, maximum=300)
VISIT_ABSOLUTE_SECONDS = env.int("VISIT_ABSOLUTE_SECONDS", default=1800, minimum=1)
# Issue 4 wants a card's absence noticed within a few seconds: at most a minute, as a longer
# window kept a visit open that long after its card was taken away unheard.
VISIT_PRESENCE_TIMEOUT_SECONDS = env.int(
    "VISIT_PRESENCE_TIMEOUT_SECONDS", default=6, minimum=1, maximum=60
)
# During an explicit card handover (the legal representative's card): how long no allowed card
# may be on the reader before the visit ends as presence lost (at most ten minutes).
VISIT_HANDOVER_SECONDS = env.int("VISIT_HANDOVER_SECONDS", default=120, minimum=1, maximum=600)
# How many procedures one visit may hold pending at once (each prepare may be an outside
# look-up); a desk never needs more, the next is refused saying why.
VISIT_PENDING_PROCEDURES_MAX = env.int("VISIT_PENDING_PROCEDURES_MAX", default=10, minimum=1)
# Trusted J-LIS input-support keys (`KEYID=PEM path`, comma-separated) with which the server
# verifies the basic four a card agent read (EF0004 + EF0003's signature, docs/card.md). Empty:
# no birth date from a card is accepted (in the demo: the demo CA's input-support root).
CARD_SUPPORT_KEYS = env.list("CARD_SUPPORT_KEYS", default=[])
# How often `madoguchi serve` runs the sweeper (lapsed idle visits, purge of what they held).
SWEEP_INTERVAL_SECONDS = env.int("SWEEP_INTERVAL_SECONDS", default=30)
# Enables the stand-in `test_link` procedure (tests and the incident scenario only).
DESK_TEST_PROCEDURE = env.bool("DESK_TEST_PROCEDURE", default=False)

# Benefits: outside systems (payment providers, bank, insurer; the simulators by default),
# the optional certified-reading adapter ("package.module:factory"), receipts by email.
BENEFITS_OUTSIDE = {
    "provider_url": env.str("OUTSIDE_PROVIDER_URL", default="http://127.0.0.1:8701"),
    "bank_url": env.str("OUTSIDE_BANK_URL", default="http://127.0.0.1:8702"),
    "insurer_url": env.str("OUTSIDE_INSURER_URL", default="http://127.0.0.1:8703"),
    "connect_timeout": env.float("OUTSIDE_CONNECT_TIMEOUT", default=2.0, above=0),
    # The whole answer: an attempt ends within connect + read timeout (docs/outside.md).
    "read_timeout": env.float("OUTSIDE_READ_TIMEOUT", default=5.0, above=0),
    "attempts": env.int("OUTSIDE_ATTEMPTS", default=3, minimum=1),
}
# The outbox worker (`madoguchi outside worker`, docs/outside.md): how long a claimed call is
# left to its worker, the retry backoff, and whether a completion's commit also processes its
# call at once in a thread (the worker sends it anyway).
OUTSIDE_WORKER = {
    "lease_seconds": env.float("OUTSIDE_LEASE_SECONDS", default=120.0, above=0),
    "backoff_initial": env.float("OUTSIDE_BACKOFF_INITIAL", default=2.0, above=0),
    "backoff_max": env.float("OUTSIDE_BACKOFF_MAX", default=300.0, above=0),
    "kick": env.bool("OUTSIDE_KICK", default=True),
}
# Requests one claim of the outbox worker may make: the look-up, the insurer's registrations
# (on a retry whose look-up disagrees), the registration (docs/outside.md, "The worker").
OUTSIDE_REQUESTS_PER_CLAIM = 3


def outside_claim_seconds(connect: float, read: float, attempts: int) -> float:
    """The longest one claim can hold a call: OUTSIDE_REQUESTS_PER_CLAIM requests, each
    `ClientConfig.call_seconds()` (madoguchi.outside.transport; not imported here, it brings
    httpx into every command): every attempt to its deadline (connect + read timeout) and the
    longest backoff before each retry (0.2 s doubling, at most 2 s)."""
    backoff = sum(min(2.0, 0.2 * 2.0 ** (retry - 1)) for retry in range(1, attempts))
    return OUTSIDE_REQUESTS_PER_CLAIM * (attempts * (connect + read) + backoff)


# A lease that runs out while its worker still waits for the insurer lets a second worker send
# the same call at once: refused at start, in one line (side doors, round 22).
_claim_seconds = outside_claim_seconds(
    BENEFITS_OUTSIDE["connect_timeout"],
    BENEFITS_OUTSIDE["read_timeout"],
    BENEFITS_OUTSIDE["attempts"],
)
if not OUTSIDE_WORKER["lease_seconds"] > _claim_seconds:
    raise env._refuse(
        "OUTSIDE_LEASE_SECONDS",
        env.ENVIRON.get("OUTSIDE_LEASE_SECONDS", OUTSIDE_WORKER["lease_seconds"]),
        f"give more than {_claim_seconds:g} seconds, the longest the outbox worker can hold one "
        f"call with OUTSIDE_CONNECT_TIMEOUT {BENEFITS_OUTSIDE['connect_timeout']:g}, "
        f"OUTSIDE_READ_TIMEOUT {BENEFITS_OUTSIDE['read_timeout']:g} and OUTSIDE_ATTEMPTS "
        f"{BENEFITS_OUTSIDE['attempts']} ({OUTSIDE_REQUESTS_PER_CLAIM} requests, each every "
        "attempt's connect + read timeout and the backoff between them), or lower those",
    )
BENEFITS_CERTIFIED_READING = env.str("BENEFITS_CERTIFIED_READING", default="")
# The incident report's contact block (問い合わせ先) when no CityContact row exists (admin).
CASES_CITY_CONTACT = {
    "city": env.str("CASES_CITY_NAME", default=""),
    "department": env.str("CASES_CITY_DEPARTMENT", default=""),
    "phone": env.str("CASES_CITY_PHONE", default=""),
    "fax": env.str("CASES_CITY_FAX", default=""),
}
# Mail (receipts, completion notices): SMTP in production (EMAIL_HOST, EMAIL_PORT,
# EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS), the console in debug and the demo.
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG or DEMO
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="madoguchi@localhost")
