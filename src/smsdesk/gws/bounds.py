"""The input bounds every request is held to at the decoding edge, before any operation runs.

Each bound is a setting (``config.Settings``, docs/settings.md, docs/reliability.md) and each
breach is a 4xx envelope whose message names the field and the limit. Bounds that are about
meaning rather than size (text length, user data) stay with the operations that own them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from smsdesk.gws.envelope import GwsError, StatusCode
from smsdesk.jsondepth import nests_deeper_than

SQLITE_INTEGER_MAX = 2**63 - 1


@dataclass(frozen=True)
class InputBounds:
    max_json_depth: int = 32
    """Arrays/objects nested in any JSON body (user data itself allows 8 levels)."""

    max_string_length: int = 4_096
    """Characters in any string field of a request body or query parameter."""

    max_list_items: int = 256
    """Items in any list field of a request body (``channels``, ``keys``)."""

    max_query_integer: int = 2_147_483_647
    """Largest value of an integer query parameter (``startIndex``, ``count``)."""


def check_json_depth(body: bytes, bounds: InputBounds) -> None:
    if nests_deeper_than(body, bounds.max_json_depth):
        raise GwsError(
            StatusCode.VALIDATION_ERROR,
            f"Invalid request body: JSON nested deeper than {bounds.max_json_depth} levels "
            "(limit max_json_depth)",
        )


def check_fields(struct: msgspec.Struct, bounds: InputBounds) -> None:
    """String lengths and list sizes of a decoded request, each breach naming its field."""
    for name in struct.__struct_fields__:
        _check_value(name, getattr(struct, name), bounds)


def _check_value(name: str, value: Any, bounds: InputBounds) -> None:
    if isinstance(value, str):
        if len(value) > bounds.max_string_length:
            raise GwsError(
                StatusCode.VALIDATION_ERROR,
                f"Invalid value for parameter {name}: longer than {bounds.max_string_length} characters "
                "(limit max_string_length)",
            )
    elif isinstance(value, list):
        if len(value) > bounds.max_list_items:
            raise GwsError(
                StatusCode.VALIDATION_ERROR,
                f"Invalid value for parameter {name}: more than {bounds.max_list_items} items "
                "(limit max_list_items)",
            )
        for item in value:
            _check_value(name, item, bounds)


def query_integer(raw: str | None, name: str, default: int, bounds: InputBounds) -> int:
    """A non-negative integer query parameter within ``max_query_integer`` (so it always fits a
    64-bit database integer), or a statusCode 10 naming the parameter and the range."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw) if len(raw) <= 20 else -1
    except ValueError:
        value = -1
    # Whatever the setting says, a value must fit the database's signed 64-bit integers.
    limit = min(bounds.max_query_integer, SQLITE_INTEGER_MAX)
    if not 0 <= value <= limit:
        raise GwsError(
            StatusCode.VALIDATION_ERROR,
            f"Invalid value for parameter {name}: {raw[:40]} (an integer from 0 to "
            f"{limit}, limit max_query_integer)",
        )
    return value


def query_string(raw: str | None, name: str, bounds: InputBounds) -> str | None:
    if raw is not None and len(raw) > bounds.max_string_length:
        raise GwsError(
            StatusCode.VALIDATION_ERROR,
            f"Invalid value for parameter {name}: longer than {bounds.max_string_length} characters "
            "(limit max_string_length)",
        )
    return raw
