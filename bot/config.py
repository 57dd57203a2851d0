"""Loads the settings: the embedded defaults in config/inquiry-desk.toml, overlaid by the
operator's file, checked key by key. Secrets come from the environment only."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = PROJECT_ROOT / "config"
TEMPLATES_DIR = PROJECT_ROOT / "templates"
DEFAULTS_FILE = CONFIG_DIR / "inquiry-desk.toml"


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigError(Exception):
    """A setting is wrong; the message names the key and fits on one line."""


@dataclass(frozen=True)
class Relay:
    kind: str  # "maildir" or "smtp"
    path: Path | None = None
    host: str = ""
    port: int = 25
    implicit_tls: bool = False


def _merge(defaults: dict, override: dict, where: str) -> dict:
    merged = dict(defaults)
    for key, value in override.items():
        name = f"{where}.{key}" if where else key
        if key not in defaults:
            raise ConfigError(
                f"unknown config key [{where or key}] {key}"
                if where
                else f"unknown config section [{key}]"
            )
        default = defaults[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"config key {name} must be a table")
            merged[key] = _merge(default, value, name)
        else:
            merged[key] = _check_type(name, default, value)
    return merged


def _check_type(name: str, default: Any, value: Any) -> Any:
    expected = type(default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"config key {name} must be a list of strings")
        return value
    if type(value) is not expected:
        kind = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
        raise ConfigError(f"config key {name} must be {kind.get(expected, expected.__name__)}")
    return value


def _namespace(data: dict) -> SimpleNamespace:
    return SimpleNamespace(
        **{k: _namespace(v) if isinstance(v, dict) else v for k, v in data.items()}
    )


def parse_relay(value: str) -> Relay:
    if value.startswith("maildir:"):
        path = value.removeprefix("maildir:")
        if not path:
            raise ConfigError("config key outbound.relay: maildir: needs a path")
        return Relay(kind="maildir", path=Path(path))
    parts = urlsplit(value)
    if parts.scheme in ("smtp", "smtps") and parts.hostname:
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
        except ValueError as exc:
            raise ConfigError(f"config key outbound.relay: bad port in {value!r}") from exc
        return Relay(
            kind="smtp", host=parts.hostname, port=port, implicit_tls=parts.scheme == "smtps"
        )
    raise ConfigError(
        f"config key outbound.relay must be 'maildir:PATH' or 'smtp://HOST:PORT', not {value!r}"
    )


class Config:
    """The checked settings: attribute access by section (`cfg.smtp_receiver.port`)."""

    def __init__(self, data: dict, env: dict[str, str]) -> None:
        self.data = data
        ns = _namespace(data)
        self.service = ns.service
        self.store = ns.store
        self.smtp_receiver = ns.smtp_receiver
        self.imap = ns.imap
        self.outbound = ns.outbound
        self.loop_guard = ns.loop_guard
        self.organization = ns.organization
        self.classifier = ns.classifier
        self.replies = ns.replies
        self.sla = ns.sla
        self.escalation = ns.escalation
        self.digest = ns.digest
        self.http = ns.http
        self.slack = ns.slack
        self.relay = parse_relay(self.outbound.relay)
        self._env = env
        self._validate()

    def _setting(self, dotted: str) -> Any:
        section, key = dotted.split(".")
        return getattr(getattr(self, section), key)

    def secret(self, env_key_setting: str) -> str | None:
        """The secret named by a `*_env` setting, e.g. 'outbound.password_env'."""
        var = self._setting(env_key_setting)
        return self._env.get(var) if var else None

    @property
    def store_url(self) -> str:
        url = self.store.url
        password = self.secret("store.password_env")
        if password:
            parts = urlsplit(url)
            if parts.username and "@" in parts.netloc:
                netloc = f"{parts.username}:{password}@{parts.netloc.split('@', 1)[1]}"
                url = parts._replace(netloc=netloc).geturl()
        return url

    @property
    def lexicon_dir(self) -> Path:
        return Path(self.classifier.lexicon_dir or CONFIG_DIR / "lexicon")

    @property
    def model_cache_dir(self) -> Path | None:
        return Path(self.classifier.model_cache_dir) if self.classifier.model_cache_dir else None

    @property
    def templates_dir(self) -> Path:
        return Path(self.replies.templates_dir or TEMPLATES_DIR)

    @property
    def knowledge_file(self) -> Path:
        return Path(self.replies.knowledge_file or CONFIG_DIR / "knowledge.toml")

    @property
    def staff_domains(self) -> frozenset[str]:
        return frozenset(d.lower().lstrip("@") for d in self.imap.staff_domains)

    @property
    def own_addresses(self) -> frozenset[str]:
        addresses = {a.lower() for a in self.smtp_receiver.recipients}
        addresses.add(self.outbound.from_address.lower())
        return frozenset(addresses)

    def _validate(self) -> None:
        if "@" not in self.outbound.from_address:
            raise ConfigError("config key outbound.from_address must be an email address")
        rec = self.smtp_receiver
        if rec.enabled and not rec.recipients:
            raise ConfigError("config key smtp_receiver.recipients must name an address")
        if not 0 <= rec.port < 65536:
            raise ConfigError("config key smtp_receiver.port must be between 0 and 65535")
        if self.classifier.needs_human_threshold < 0 or self.classifier.needs_human_threshold > 1:
            raise ConfigError("config key classifier.needs_human_threshold must be 0 to 1")
        if self.outbound.retry_initial_seconds <= 0 or self.outbound.retry_max_seconds <= 0:
            raise ConfigError("config key outbound.retry_*_seconds must be positive")
        if self.service.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError("config key service.log_level must be DEBUG/INFO/WARNING/ERROR")
        imap = self.imap
        if imap.security not in ("ssl", "starttls", "none"):
            raise ConfigError("config key imap.security must be 'ssl', 'starttls' or 'none'")
        if imap.start_from not in ("now", "all"):
            raise ConfigError("config key imap.start_from must be 'now' or 'all'")
        if not 0 < imap.idle_seconds < 29 * 60:
            raise ConfigError("config key imap.idle_seconds must be below 1740 (29 minutes)")
        if imap.enabled and not imap.username:
            raise ConfigError("config key imap.username must be set when imap.enabled is true")
        self._validate_sla()
        self._validate_slack()
        # The secrets this configuration needs, by the `*_env` key that names each one.
        required = []
        if self.outbound.username and self.relay.kind == "smtp":
            required.append("outbound.password_env")
        if self.store.password_env:
            required.append("store.password_env")
        if imap.enabled:
            required.append("imap.password_env")
        if self.slack.enabled:
            required.append("slack.bot_token_env")
            required.append(
                "slack.app_token_env" if self.slack.mode == "socket" else "slack.signing_secret_env"
            )
        for key in required:
            if not self.secret(key):
                var = self._setting(key)
                raise ConfigError(
                    f"missing secret: environment variable {var} (config key {key}) is not set"
                )

    def _validate_sla(self) -> None:
        from bot.sla.calendar import BusinessCalendar
        from bot.sla.targets import TARGET_KEYS, parse_target

        try:
            BusinessCalendar.from_config(self.sla)
            for key in TARGET_KEYS:
                parse_target(key, getattr(self.sla, key))
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        if not 0 < self.sla.warn_at < 1:
            raise ConfigError("config key sla.warn_at must be between 0 and 1")
        if self.sla.repeat_hours <= 0 or self.sla.sweep_seconds <= 0:
            raise ConfigError("config keys sla.repeat_hours and sla.sweep_seconds must be > 0")
        if self.escalation.language not in ("en", "ja"):
            raise ConfigError("config key escalation.language must be 'en' or 'ja'")
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", self.digest.time):
            raise ConfigError("config key digest.time must be HH:MM")
        if self.digest.weekly_day not in _WEEKDAYS:
            raise ConfigError(f"config key digest.weekly_day must be one of {' '.join(_WEEKDAYS)}")

    def _validate_slack(self) -> None:
        slack = self.slack
        if slack.mode not in ("socket", "http"):
            raise ConfigError("config key slack.mode must be 'socket' or 'http'")
        if slack.include_text not in ("redacted", "none"):
            raise ConfigError("config key slack.include_text must be 'redacted' or 'none'")
        if slack.staff_language not in ("en", "ja"):
            raise ConfigError("config key slack.staff_language must be 'en' or 'ja'")
        if slack.enabled and not slack.triage_channel:
            raise ConfigError("config key slack.triage_channel must be set when Slack is on")
        if not slack.api_url.endswith("/"):
            raise ConfigError("config key slack.api_url must end with '/'")
        if not 0 <= self.http.port < 65536:
            raise ConfigError("config key http.port must be between 0 and 65535")

    def localized_organization(self, language: str) -> dict[str, Any]:
        """The organization block for `language`, English values filling any gaps."""
        base = {k: v for k, v in self.data["organization"].items() if not isinstance(v, dict)}
        local = self.data["organization"].get(language, {})
        return {k: (local.get(k) or v) for k, v in base.items()}


def read_toml(path: Path) -> dict:
    """A TOML file as a dict; a missing or malformed file is a ConfigError naming it."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc


def load_config(
    path: str | Path | None = None, env: dict[str, str] | None = None, overrides: dict | None = None
) -> Config:
    """Defaults, then the file at `path`, then `overrides` (tests use these)."""
    data = read_toml(DEFAULTS_FILE)
    if path is not None:
        data = _merge(data, read_toml(Path(path)), "")
    if overrides:
        data = _merge(data, overrides, "")
    return Config(data, dict(os.environ) if env is None else env)
