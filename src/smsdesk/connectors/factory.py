"""Connectors from the ``[connectors.<name>]`` sections of the settings file.

Each section names its ``type`` (``twilio``, ``smpp`` or ``simulator``) and the fields of that
connector's config dataclass (:class:`TwilioConfig`, :class:`SmppConfig`); the section's key is the
connector's name, which service numbers refer to and which appears in webhook URLs. Secrets can
be read from the environment instead of the file: ``auth_token_env = "VAR"`` (Twilio) and
``password_env = "VAR"`` (SMPP) name the variable that holds them.

Everything is checked before anything is built, so a bad file stops the server at startup with a
message naming the section and field, never half-way through with a stack trace.
"""

from __future__ import annotations

import dataclasses
import os
import re
import typing
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from smsdesk.connectors.simulator import SimulatorConnector
from smsdesk.connectors.smpp import SmppConfig, SmppConnector
from smsdesk.connectors.twilio_format import TwilioConfig, TwilioConnector
from smsdesk.operations.sms_ports import SmsConnector

# The name is a path segment of the webhook URLs (/connectors/<name>/inbound): keep it plain.
_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
SIMULATOR: Final = "simulator"
CONNECTOR_TYPES: Final = ("twilio", "smpp", "simulator")

# Which config field may be given as "<field>_env" (the name of an environment variable) instead.
_SECRET_FIELDS: Final[Mapping[str, str]] = {"twilio": "auth_token", "smpp": "password"}
_URL_FIELDS: Final = frozenset({"public_webhook_base_url", "status_callback_url", "api_base_url"})

ConnectorConfig = TwilioConfig | SmppConfig | None  # None: the simulator has no settings


class ConnectorConfigError(ValueError):
    """The ``[connectors]`` settings are wrong; the message says where and how."""


def parse_connector_configs(
    sections: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> dict[str, ConnectorConfig]:
    """Check every ``[connectors.<name>]`` section and turn it into its connector's config.

    Raises :class:`ConnectorConfigError` listing every problem found, not just the first, so an
    operator fixes the file in one go.
    """
    env = os.environ if environ is None else environ
    problems: list[str] = []
    configs: dict[str, ConnectorConfig] = {}
    for name, section in sections.items():
        where = f"[connectors.{name}]"
        if not _NAME.match(name):
            problems.append(f"{where}: a connector name is letters, digits, '-' and '_' (it is part of URLs)")
            continue
        if not isinstance(section, Mapping):
            problems.append(f"{where}: expected a table of settings")
            continue
        kind = section.get("type")
        if kind not in CONNECTOR_TYPES:
            problems.append(f"{where}: type must be one of {', '.join(CONNECTOR_TYPES)} (got {kind!r})")
            continue
        # The simulator's HTTP routes, the demo number and SMSDESK_SIMULATOR all mean this one name.
        if (kind == SIMULATOR) != (name == SIMULATOR):
            problems.append(f"{where}: the name 'simulator' is reserved for, and required of, type simulator")
            continue
        fields = {key: value for key, value in section.items() if key != "type"}
        if kind == "simulator":
            if fields:
                problems.append(f"{where}: the simulator takes no settings (got {', '.join(sorted(fields))})")
            else:
                configs[name] = None
            continue
        config_class: type[TwilioConfig] | type[SmppConfig] = TwilioConfig if kind == "twilio" else SmppConfig
        section_problems, values = _values_for(config_class, _SECRET_FIELDS[kind], fields, env)
        problems += [f"{where}: {problem}" for problem in section_problems]
        if not section_problems:
            configs[name] = config_class(**values, name=name)
    if problems:
        raise ConnectorConfigError("invalid connector settings:\n  " + "\n  ".join(problems))
    return configs


def _values_for(
    config_class: type[TwilioConfig] | type[SmppConfig],
    secret_field: str,
    given: dict[str, Any],
    env: Mapping[str, str],
) -> tuple[list[str], dict[str, Any]]:
    problems: list[str] = []
    hints = typing.get_type_hints(config_class)
    # ``name`` comes from the section key, so it cannot disagree with the URLs and service numbers.
    settable = {f.name: f for f in dataclasses.fields(config_class) if f.name != "name"}
    values = dict(given)

    secret_env = f"{secret_field}_env"
    if secret_env in values:
        variable = values.pop(secret_env)
        if secret_field in values:
            problems.append(f"give {secret_field} or {secret_env}, not both")
        elif not isinstance(variable, str) or not variable:
            problems.append(f"{secret_env} must name an environment variable")
        elif not env.get(variable):
            problems.append(f"{secret_env}: environment variable {variable} is not set or empty")
        else:
            values[secret_field] = env[variable]

    for key in sorted(set(values) - set(settable)):
        problems.append(f"unknown setting {key!r} (known: {', '.join(sorted([*settable, secret_env]))})")
    for key, spec in settable.items():
        required = spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
        if key not in values:
            if required:
                hint = f" (or {secret_env})" if key == secret_field else ""
                problems.append(f"missing required setting {key!r}{hint}")
            continue
        problem = _type_problem(values[key], hints[key])
        if problem is None and key in _URL_FIELDS and values[key] is not None:
            problem = _url_problem(values[key])
        if problem is not None:
            problems.append(f"{key}: {problem}")
        elif isinstance(values[key], int) and hints[key] is float:
            values[key] = float(values[key])  # TOML "15" for a float setting
    if config_class is SmppConfig:
        problems += smpp_limit_problems(values)
    for key, highest in (("port", 65_535), ("window", 10_000)):
        value = values.get(key)
        in_range = not isinstance(value, int) or isinstance(value, bool) or 1 <= value <= highest
        if config_class is SmppConfig and not in_range:
            problems.append(f"{key}: {value} is out of range 1..{highest}")
    return problems, {key: value for key, value in values.items() if key in settable}


# SMPP 3.4 (§5.2) sizes its C-Octet strings including the terminating NUL; smpplib would cut a longer
# value short without a word and the bind would then fail forever.
SMPP_STRING_LIMITS: Final[Mapping[str, int]] = {"system_id": 15, "password": 8, "system_type": 12}
SMPP_TONS: Final = frozenset(range(7))  # §5.2.5: unknown .. abbreviated
SMPP_NPIS: Final = frozenset({0, 1, 3, 4, 6, 8, 9, 10, 14, 18})  # §5.2.6


def smpp_limit_problems(values: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for key, longest in SMPP_STRING_LIMITS.items():
        value = values.get(key)
        if not isinstance(value, str):
            continue
        if not value.isascii():
            problems.append(f"{key}: SMPP allows ASCII characters only")
        elif len(value) > longest:
            problems.append(f"{key}: {len(value)} characters, SMPP 3.4 allows at most {longest}")
    for key in ("source_ton", "destination_ton"):
        value = values.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value not in SMPP_TONS:
            problems.append(f"{key}: {value} is not an SMPP type of number (0..6)")
    for key in ("source_npi", "destination_npi"):
        value = values.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value not in SMPP_NPIS:
            known = ", ".join(str(n) for n in sorted(SMPP_NPIS))
            problems.append(f"{key}: {value} is not an SMPP numbering plan ({known})")
    return problems


def _type_problem(value: object, hint: object) -> str | None:
    accepted: tuple[type, ...]
    if hint == str | None:
        accepted = (str, type(None))
    elif hint is float:
        accepted = (int, float)
    elif hint in (str, int, bool):
        accepted = (typing.cast(type, hint),)
    else:  # a field type this parser does not know: let the dataclass have it
        return None
    if isinstance(value, bool) and hint is not bool:
        return f"expected {_type_name(hint)}, got a boolean"
    if not isinstance(value, accepted):
        return f"expected {_type_name(hint)}, got {type(value).__name__} {value!r}"
    return None


_TYPE_NAMES: Final[Mapping[object, str]] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
}


def _type_name(hint: object) -> str:
    return _TYPE_NAMES.get(hint, "a string")


def _url_problem(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"expected an absolute http(s) URL, got {value!r}"
    return None


def build_connectors(
    sections: Mapping[str, Any], environ: Mapping[str, str] | None = None, *, default_region: str = ""
) -> dict[str, SmsConnector]:
    """One started-later connector per ``[connectors.<name>]`` section (see the module docstring).

    Raises :class:`ConnectorConfigError` when a section is wrong; builds nothing in that case.
    """
    connectors: dict[str, SmsConnector] = {}
    for name, config in parse_connector_configs(sections, environ).items():
        if isinstance(config, TwilioConfig):
            connectors[name] = TwilioConnector(config, default_region=default_region)
        elif isinstance(config, SmppConfig):
            connectors[name] = SmppConnector(config, default_region=default_region)
        else:
            connectors[name] = SimulatorConnector(default_region=default_region)
    return connectors
