"""Settings: defaults, then the environment, then a test's mapping.

Every setting's environment name is a constant here. ``Settings.from_env``
checks each value and raises ``ConfigError`` with one line naming the setting,
so ``redirector serve`` stops before it starts on a bad one.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .destinations import normalize_hosts
from .errors import ConfigError, InvalidField
from .fraud import FraudRules, load_fraud_rules
from .landing import LandingRules, load_landing_rules
from .programs import Program, load_programs
from .proxies import Network, parse_networks
from .spool import NotPrivate, private_directory, store_directory

REDIS_URL = "REDIS_URL"
REDIS_CLUSTER_URL = "REDIS_CLUSTER_URL"
ADMIN_TOKEN = "REDIRECTOR_ADMIN_TOKEN"
SECRET_KEYS = "REDIRECTOR_SECRET_KEYS"
PUBLIC_URL = "REDIRECTOR_PUBLIC_URL"
TIMEZONE = "REDIRECTOR_TIMEZONE"
CURRENCY = "REDIRECTOR_CURRENCY"
CLOCK = "REDIRECTOR_CLOCK"
PROGRAMS = "REDIRECTOR_PROGRAMS"
WORKERS = "REDIRECTOR_WORKERS"
LOG_LEVEL = "REDIRECTOR_LOG_LEVEL"
SPOOL_DIR = "REDIRECTOR_SPOOL_DIR"
LINK_CACHE_SECONDS = "REDIRECTOR_LINK_CACHE_SECONDS"
TRUSTED_PROXIES = "REDIRECTOR_TRUSTED_PROXIES"
AUTH_FAILURE_LIMIT = "REDIRECTOR_AUTH_FAILURE_LIMIT"
LINK_CREATION_LIMIT = "REDIRECTOR_LINK_CREATION_LIMIT"
FRAUD = "REDIRECTOR_FRAUD"
MIN_PAYOUT = "REDIRECTOR_MIN_PAYOUT"
LANDING = "REDIRECTOR_LANDING"
IMAGE_HOSTS = "REDIRECTOR_IMAGE_HOSTS"
WEBHOOK_ALLOW_PRIVATE = "REDIRECTOR_WEBHOOK_ALLOW_PRIVATE"
MONEY_REPLICAS = "REDIRECTOR_MONEY_REPLICAS"
GROUP_COMMIT = "REDIRECTOR_GROUP_COMMIT"
CLICK_REPLICAS = "REDIRECTOR_CLICK_REPLICAS"
CLICK_REPLICA_TIMEOUT_MS = "REDIRECTOR_CLICK_REPLICA_TIMEOUT_MS"

# The programs file shipped beside the package in a source checkout (and copied
# into the image); an installed wheel without it falls back to the defaults.
SHIPPED_PROGRAMS = Path(__file__).resolve().parent.parent / "config" / "programs.toml"
# Click-fraud thresholds (``fraud.py``), shipped and overridden the same way.
SHIPPED_FRAUD = SHIPPED_PROGRAMS.with_name("fraud.toml")
# What a phone's click does per in-app browser (``landing.py``), the same way.
SHIPPED_LANDING = SHIPPED_PROGRAMS.with_name("landing.toml")

MIN_SECRET_KEY_LENGTH = 16
# The admin token opens everything: long, and not plainly guessable (see _guessable).
MIN_ADMIN_TOKEN_LENGTH = 24
# Six, not more: one random 24-hex token in about 36,000 holds seven or fewer
# distinct characters (seen in CI); five or fewer, one in 300 million.
MIN_ADMIN_TOKEN_DISTINCT = 6
MIN_ADMIN_TOKEN_BITS = 48  # random hex of 24 characters scores 58+, "abc…z0…9" 21
UNIQUE_WINDOW_SECONDS = 24 * 3600
DEVICE_COOKIE = "rd_did"
DEVICE_COOKIE_MAX_AGE = 365 * 24 * 3600
DEFAULT_LINK_CACHE_SECONDS = 600
MAX_LINK_CACHE_SECONDS = 24 * 3600
DEFAULT_AUTH_FAILURE_LIMIT = "20/minute"
DEFAULT_LINK_CREATION_LIMIT = "60/minute;1000/day"
DEFAULT_MIN_PAYOUT = 10_000  # minor units: 100.00 in a two-decimal currency
MAX_MIN_PAYOUT = 10**12  # the largest amount an order may carry
MAX_REPLICAS = 16  # WAIT's count: more replicas per master than any deployment runs
DEFAULT_CLICK_REPLICA_TIMEOUT_MS = 100
MAX_CLICK_REPLICA_TIMEOUT_MS = 5_000


@dataclass(frozen=True)
class Settings:
    redis_url: str | None = None
    redis_cluster_url: str | None = None
    admin_token: str = ""
    secret_keys: tuple[str, ...] = ()  # newest first
    public_url: str | None = None
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    currency: str = "CNY"
    clock: str = "real"  # "real" | "mock"
    programs: Mapping[str, Program] = field(default_factory=dict)
    programs_path: Path | None = None
    workers: int = 0  # 0: chosen from the core count
    log_level: str = "info"
    # Where the redirect spools clicks it answered while Redis was unreachable
    # (``spool.py``); production points it at persistent disk.
    spool_dir: Path = field(default_factory=lambda: default_spool_dir())
    # How long a worker may still redirect a link it has seen, while Redis is
    # unreachable (0: never, every click then answers 503).
    link_cache_seconds: int = DEFAULT_LINK_CACHE_SECONDS
    # Proxies whose X-Forwarded-For entries are believed (``proxies.client_ip``).
    trusted_proxies: tuple[Network, ...] = ()
    # Failed authentications allowed per client (limits' notation, e.g. "20/minute").
    auth_failure_limit: str = DEFAULT_AUTH_FAILURE_LIMIT
    # Links a creator may make (``quota``): rates in limits' notation, ";" between.
    link_creation_limit: str = DEFAULT_LINK_CREATION_LIMIT
    # Click-fraud thresholds: floods of clicks, instant conversions (``fraud.py``).
    fraud: FraudRules = field(default_factory=FraudRules)
    fraud_path: Path | None = None
    # The least a guide account is paid at a close (``payouts``); less carries over.
    min_payout: int = DEFAULT_MIN_PAYOUT
    # Hosts product images may come from besides their storefront's (a CDN),
    # checked like a storefront's hosts.
    image_hosts: tuple[str, ...] = ()
    # What a phone's click does per in-app browser and platform (``landing``).
    landing: LandingRules = field(default_factory=LandingRules)
    landing_path: Path | None = None
    # Postback endpoints on loopback, private or link-local addresses are
    # refused unless this is set (tests, development): ``postbacks.guard``.
    webhook_allow_private: bool = False
    # Replicas that must hold a money write before it is answered (``replication``):
    # 0, a single Redis's case, answers once the master has it.
    money_replicas: int = 0
    # Clicks of concurrent requests sent to Redis together (``click_batches``).
    group_commit: bool = True
    # Replicas that must confirm a click's write before its 302 rests on it
    # (``click_batches``); fewer in time, and the click is spooled. 0: off.
    click_replicas: int = 0
    click_replica_timeout_ms: int = DEFAULT_CLICK_REPLICA_TIMEOUT_MS

    @property
    def embedded(self) -> bool:
        return not (self.redis_url or self.redis_cluster_url)

    @property
    def store_description(self) -> str:
        if self.redis_cluster_url:
            return f"Redis Cluster at {_redact(self.redis_cluster_url)}"
        if self.redis_url:
            return f"Redis at {_redact(self.redis_url)}"
        return "embedded in-process store (fakeredis): data lives in memory and is lost on exit"

    @property
    def retention_seconds(self) -> int:
        """How long raw click records are kept: the longest window plus a day."""
        longest = max((p.window_days for p in self.programs.values()), default=15)
        return (longest + 1) * 24 * 3600

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, generate_missing: bool = True
    ) -> Settings:
        """Read and check every setting, in this order, each by a parser of its
        own. ``generate_missing`` makes the admin token (and, on the embedded
        store, the signing keys) when they are unset."""
        env = os.environ if env is None else env
        redis_url, cluster_url = _store_urls(env)
        embedded = not (redis_url or cluster_url)
        admin_token = _admin_token(env, generate_missing)
        secret_keys = _secret_keys(env, embedded, generate_missing)
        public_url = _public_url(env)
        timezone = _timezone(env)
        currency = _currency(env)
        clock = _clock(env)
        programs_path = _settings_file(env, PROGRAMS, SHIPPED_PROGRAMS)
        programs = load_programs(programs_path, PROGRAMS)
        workers = _workers(env)
        log_level = _log_level(env)
        trusted_proxies = _trusted_proxies(env)
        auth_failure_limit = _auth_failure_limit(env)
        link_creation_limit = _link_creation_limit(env)
        fraud_path = _settings_file(env, FRAUD, SHIPPED_FRAUD)
        fraud = load_fraud_rules(fraud_path, FRAUD)
        spool_dir = _spool_dir(env, redis_url, cluster_url)
        link_cache_seconds = _link_cache_seconds(env)
        min_payout = _min_payout(env)
        image_hosts = _image_hosts(env)
        landing_path = _settings_file(env, LANDING, SHIPPED_LANDING)
        landing = load_landing_rules(landing_path, LANDING)
        webhook_allow_private = _flag(env, WEBHOOK_ALLOW_PRIVATE)
        money_replicas = _replicas(env, MONEY_REPLICAS, embedded)
        group_commit = _flag(env, GROUP_COMMIT, default=True)
        click_replicas, click_replica_timeout_ms = _click_replicas(env, embedded)
        return cls(
            redis_url=redis_url,
            redis_cluster_url=cluster_url,
            admin_token=admin_token,
            secret_keys=secret_keys,
            public_url=public_url,
            timezone=timezone,
            currency=currency,
            clock=clock,
            programs=programs,
            programs_path=programs_path,
            workers=workers,
            log_level=log_level,
            spool_dir=spool_dir,
            link_cache_seconds=link_cache_seconds,
            trusted_proxies=trusted_proxies,
            auth_failure_limit=auth_failure_limit,
            link_creation_limit=link_creation_limit,
            fraud=fraud,
            fraud_path=fraud_path,
            min_payout=min_payout,
            image_hosts=image_hosts,
            landing=landing,
            landing_path=landing_path,
            webhook_allow_private=webhook_allow_private,
            money_replicas=money_replicas,
            group_commit=group_commit,
            click_replicas=click_replicas,
            click_replica_timeout_ms=click_replica_timeout_ms,
        )


# -- one parser per setting: its default, its check, one line naming it ----------------


def _store_urls(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(REDIS_URL, REDIS_CLUSTER_URL), at most one of them set."""
    redis_url = _url(env, REDIS_URL, ("redis", "rediss", "unix"))
    cluster_url = _url(env, REDIS_CLUSTER_URL, ("redis", "rediss"))
    if redis_url and cluster_url:
        raise ConfigError(f"{REDIS_URL} and {REDIS_CLUSTER_URL} are both set: choose one")
    return redis_url, cluster_url


def _admin_token(env: Mapping[str, str], generate_missing: bool) -> str:
    admin_token = env.get(ADMIN_TOKEN, "").strip()
    if admin_token:
        weakness = _guessable(admin_token)
        if weakness:
            raise ConfigError(
                f"{ADMIN_TOKEN} is {weakness}: use a random one of "
                f"{MIN_ADMIN_TOKEN_LENGTH}+ characters (e.g. python -c "
                "'import secrets; print(secrets.token_urlsafe(32))')"
            )
    if not admin_token and generate_missing:
        admin_token = secrets.token_urlsafe(24)
    return admin_token


def _guessable(token: str) -> str | None:
    """Why ``token`` is plainly not a random secret, or None. The estimate is
    generous to a real random token and meant only to catch the obvious: too
    short, few distinct characters, one part repeated ("passwordpassword"), or
    little entropy once runs like "aaaa", "abcd" or "4321" are discounted."""
    if len(token) < MIN_ADMIN_TOKEN_LENGTH:
        return f"too short ({len(token)} characters)"
    if len(set(token)) < MIN_ADMIN_TOKEN_DISTINCT:
        return f"made of {len(set(token))} distinct characters"
    if token in (token + token)[1:-1]:
        return "one part repeated"
    bits = _estimated_bits(token)
    if bits < MIN_ADMIN_TOKEN_BITS:
        return f"guessable (about {bits:.0f} bits of entropy)"
    return None


def _estimated_bits(token: str) -> float:
    """Shannon entropy of the token's characters, counting only those a run does
    not predict (a character one step, or none, from the last as the last was
    from the one before)."""
    counts = {c: token.count(c) for c in set(token)}
    per_char = -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())
    steps = [ord(b) - ord(a) for a, b in itertools.pairwise(token)]
    predicted = sum(1 for s, t in itertools.pairwise(steps) if s == t and abs(t) <= 1)
    return per_char * (len(token) - predicted)


def _secret_keys(env: Mapping[str, str], embedded: bool, generate_missing: bool) -> tuple[str, ...]:
    """The signing keys, newest first: required with Redis, made for the embedded store."""
    keys = tuple(k.strip() for k in env.get(SECRET_KEYS, "").split(",") if k.strip())
    for key in keys:
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f"{SECRET_KEYS} holds a key shorter than {MIN_SECRET_KEY_LENGTH} characters"
            )
    if not keys:
        if not embedded:
            raise ConfigError(
                f"{SECRET_KEYS} is required with Redis (link tokens must verify on every "
                "worker and survive restarts)"
            )
        if generate_missing:
            keys = (secrets.token_urlsafe(32),)
    return keys


def _public_url(env: Mapping[str, str]) -> str | None:
    public_url = env.get(PUBLIC_URL, "").strip().rstrip("/") or None
    if public_url:
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"{PUBLIC_URL}={public_url!r} must be an http(s) URL")
    return public_url


def _timezone(env: Mapping[str, str]) -> ZoneInfo:
    tz_name = env.get(TIMEZONE, "Asia/Shanghai").strip()
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{TIMEZONE}={tz_name!r} is not a known time zone") from exc


def _currency(env: Mapping[str, str]) -> str:
    currency = env.get(CURRENCY, "CNY").strip()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ConfigError(f"{CURRENCY}={currency!r} must be an ISO 4217 code such as CNY")
    return currency


def _clock(env: Mapping[str, str]) -> str:
    clock = env.get(CLOCK, "real").strip().lower()
    if clock not in ("real", "mock"):
        raise ConfigError(f"{CLOCK}={clock!r} must be 'real' or 'mock'")
    return clock


def _settings_file(env: Mapping[str, str], name: str, shipped: Path) -> Path | None:
    """The file ``name`` points at, else the one shipped (if there is one)."""
    if env.get(name, "").strip():
        return Path(env[name].strip())
    return shipped if shipped.is_file() else None


def _workers(env: Mapping[str, str]) -> int:
    workers_text = env.get(WORKERS, "0").strip() or "0"
    if not workers_text.isdigit() or int(workers_text) > 256:
        raise ConfigError(f"{WORKERS}={workers_text!r} must be a whole number up to 256")
    return int(workers_text)


def _log_level(env: Mapping[str, str]) -> str:
    log_level = env.get(LOG_LEVEL, "info").strip().lower()
    if log_level not in ("debug", "info", "warning", "error"):
        raise ConfigError(f"{LOG_LEVEL}={log_level!r} must be debug, info, warning or error")
    return log_level


def _trusted_proxies(env: Mapping[str, str]) -> tuple[Network, ...]:
    try:
        return parse_networks(env.get(TRUSTED_PROXIES, ""))
    except ValueError as exc:
        raise ConfigError(f"{TRUSTED_PROXIES}: {exc}") from None


def _image_hosts(env: Mapping[str, str]) -> tuple[str, ...]:
    names = [h for h in env.get(IMAGE_HOSTS, "").split(",") if h.strip()]
    try:
        return tuple(normalize_hosts(names)) if names else ()
    except InvalidField as exc:
        reason = exc.details["fields"][0]["message"]
        raise ConfigError(f"{IMAGE_HOSTS}: {reason}") from None


def _auth_failure_limit(env: Mapping[str, str]) -> str:
    auth_failure_limit = env.get(AUTH_FAILURE_LIMIT, "").strip() or DEFAULT_AUTH_FAILURE_LIMIT
    if not _rate_limit(auth_failure_limit):
        raise ConfigError(f"{AUTH_FAILURE_LIMIT}={auth_failure_limit!r} must read like '20/minute'")
    return auth_failure_limit


def _link_creation_limit(env: Mapping[str, str]) -> str:
    text = env.get(LINK_CREATION_LIMIT, "").strip() or DEFAULT_LINK_CREATION_LIMIT
    if not _rates(text):
        raise ConfigError(f"{LINK_CREATION_LIMIT}={text!r} must read like '60/minute;1000/day'")
    return text


def _spool_dir(env: Mapping[str, str], redis_url: str | None, cluster_url: str | None) -> Path:
    """The spool's directory, links resolved; with Redis (only a Redis deployment
    spools) it and its store's subdirectory are made private, or must be."""
    spool_text = env.get(SPOOL_DIR, "").strip()
    spool_dir = (Path(spool_text).expanduser() if spool_text else default_spool_dir()).resolve()
    if redis_url or cluster_url:
        for directory in (spool_dir, store_directory(spool_dir, redis_url, cluster_url)):
            try:
                private_directory(directory)
            except NotPrivate as exc:
                raise ConfigError(f"{SPOOL_DIR}: {directory} {exc}") from None
    return spool_dir


def _link_cache_seconds(env: Mapping[str, str]) -> int:
    cache_text = env.get(LINK_CACHE_SECONDS, "").strip() or str(DEFAULT_LINK_CACHE_SECONDS)
    if not cache_text.isdigit() or int(cache_text) > MAX_LINK_CACHE_SECONDS:
        raise ConfigError(
            f"{LINK_CACHE_SECONDS}={cache_text!r} must be a whole number of seconds "
            f"up to {MAX_LINK_CACHE_SECONDS}"
        )
    return int(cache_text)


def _min_payout(env: Mapping[str, str]) -> int:
    text = env.get(MIN_PAYOUT, "").strip() or str(DEFAULT_MIN_PAYOUT)
    # ASCII digits only: str.isdigit() takes other scripts' digits and "²".
    if not re.fullmatch(r"[0-9]{1,13}", text, re.ASCII) or not 1 <= int(text) <= MAX_MIN_PAYOUT:
        raise ConfigError(
            f"{MIN_PAYOUT}={text!r} must be a whole number of minor units (fen) "
            f"from 1 to {MAX_MIN_PAYOUT}"
        )
    return int(text)


def _replicas(env: Mapping[str, str], name: str, embedded: bool) -> int:
    """Replicas a write waits for (``WAIT``): 0 to ``MAX_REPLICAS``, and only with Redis."""
    text = env.get(name, "").strip() or "0"
    if not re.fullmatch(r"[0-9]{1,2}", text, re.ASCII) or int(text) > MAX_REPLICAS:
        raise ConfigError(f"{name}={text!r} must be a whole number from 0 to {MAX_REPLICAS}")
    if int(text) and embedded:
        raise ConfigError(f"{name}={text} needs Redis with replicas: the embedded store has none")
    return int(text)


def _flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    """A yes/no setting: ``1``/``true``/``yes`` or ``0``/``false``/``no``."""
    text = env.get(name, "").strip().lower()
    if not text:
        return default
    if text in ("0", "false", "no"):
        return False
    if text in ("1", "true", "yes"):
        return True
    raise ConfigError(f"{name}={text!r} must be 1 or 0")


def _click_replicas(env: Mapping[str, str], embedded: bool) -> tuple[int, int]:
    """(replicas a click's write waits for, how long at most in ms)."""
    replicas = _replicas(env, CLICK_REPLICAS, embedded)
    timeout_text = env.get(CLICK_REPLICA_TIMEOUT_MS, "").strip()
    timeout = DEFAULT_CLICK_REPLICA_TIMEOUT_MS
    if timeout_text:
        if (
            not re.fullmatch(r"[0-9]{1,4}", timeout_text, re.ASCII)
            or not 1 <= int(timeout_text) <= MAX_CLICK_REPLICA_TIMEOUT_MS
        ):
            raise ConfigError(
                f"{CLICK_REPLICA_TIMEOUT_MS}={timeout_text!r} must be a whole number of "
                f"milliseconds from 1 to {MAX_CLICK_REPLICA_TIMEOUT_MS}"
            )
        timeout = int(timeout_text)
    return replicas, timeout


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    value = env.get(name, "").strip()
    if not value:
        return None
    scheme = urlsplit(value).scheme
    if scheme not in schemes:
        raise ConfigError(
            f"{name}={_redact(value)!r} must start with one of {', '.join(schemes)}://"
        )
    return value


def _rate_limit(text: str) -> bool:
    """One rate in limits' notation (``20/minute``, ``100 per hour``)."""
    from limits import parse_many

    try:
        return len(parse_many(text)) == 1
    except ValueError:
        return False


def _rates(text: str) -> bool:
    """One or more rates in limits' notation, separated by ``;``."""
    from limits import parse_many

    try:
        return len(parse_many(text)) >= 1
    except ValueError:
        return False


def default_spool_dir() -> Path:
    """``redirector-spool`` in the system's temporary directory: fine on one
    machine, but production should name persistent disk in REDIRECTOR_SPOOL_DIR."""
    return Path(tempfile.gettempdir()) / "redirector-spool"


def _redact(url: str) -> str:
    """A URL fit for a log line: the password replaced."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url
