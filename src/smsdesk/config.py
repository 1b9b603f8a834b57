"""Server settings: defaults, then an optional TOML file, then ``SMSDESK_*`` environment variables,
then command-line flags. Every limit is named here (README "Settings")."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

CsrfMode = Literal["off", "cookie", "always"]


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = "sqlite:///var/smsdesk.db"
    # The base of the absolute ``uri``s in resources; defaults to http://host:port.
    public_url: str = ""
    demo: bool = False
    simulator: bool = False
    # off: never check; cookie: check requests authenticated only by the session cookie (browsers);
    # always: check every POST/PUT/DELETE, as GWS does with enableCsrfProtection.
    csrf: CsrfMode = "cookie"
    cors_origins: tuple[str, ...] = ()
    log_level: str = "info"
    max_body_bytes: int = 1_048_576  # any REST request body
    offer_timeout_ms: int = 30_000
    max_sessions_per_agent: int = 5
    max_text_length: int = 1_600
    user_data_max_keys: int = 200
    user_data_max_key_length: int = 256
    user_data_max_bytes: int = 65_536
    credential_trust_s: float = 30.0
    bayeux_timeout_ms: int = 25_000
    bayeux_max_interval_ms: int = 10_000
    bayeux_max_queue: int = 10_000
    routing_sweep_ms: int = 500
    connectors: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def simulator_enabled(self) -> bool:
        return self.demo or self.simulator or "simulator" in self.connectors


def _coerce(name: str, raw: str, current: object) -> object:
    if isinstance(current, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, float):
        return float(raw)
    if isinstance(current, tuple):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


def load_settings(config_file: str | None = None, **overrides: Any) -> Settings:
    settings = Settings()
    values: dict[str, Any] = {}
    path = config_file or os.environ.get("SMSDESK_CONFIG")
    if path:
        with Path(path).open("rb") as handle:
            data = tomllib.load(handle)
        known = {f.name for f in fields(Settings)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown settings in {path}: {', '.join(sorted(unknown))}")
        values.update(data)
        if "cors_origins" in values:
            values["cors_origins"] = tuple(values["cors_origins"])
    for f in fields(Settings):
        env = os.environ.get(f"SMSDESK_{f.name.upper()}")
        if env is not None and f.name != "connectors":
            values[f.name] = _coerce(f.name, env, getattr(settings, f.name))
    values.update({k: v for k, v in overrides.items() if v is not None})
    if values.get("csrf", settings.csrf) not in ("off", "cookie", "always"):
        raise ValueError("csrf must be one of: off, cookie, always")
    return replace(settings, **values)
