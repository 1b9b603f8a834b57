"""User data (attached data) rules: value types, named limits, and Attach/Update/Delete semantics.

A value is a string, an integer, or a nested object of the same (a Genesys KVList). Floats, booleans,
null and arrays are refused rather than coerced, so what a client reads back is exactly what it wrote.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from smsdesk.domain.errors import DomainError, ErrorKind, invalid_value

# A nested value is itself user data; typed loosely so serializers can read the alias.
UserDataValue = str | int | dict[str, Any]
UserData = dict[str, UserDataValue]

# KVList integers are 32-bit in Genesys back ends; we keep the full signed 64-bit range so nothing a
# SQL column or a JSON client can hold is silently truncated.
_INT_MIN = -(2**63)
_INT_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class UserDataLimits:
    """Why each limit: userData travels in every notification of the session, so it must stay small."""

    max_keys: int = 200
    max_key_length: int = 256
    max_total_bytes: int = 64 * 1024
    max_depth: int = 8


def _check_value(key_path: str, value: object, limits: UserDataLimits, depth: int) -> None:
    if isinstance(value, bool) or value is None:
        raise invalid_value(
            f"Invalid userData value for '{key_path}': expected a string, an integer or an object"
        )
    if isinstance(value, str):
        return
    if isinstance(value, int):
        if not _INT_MIN <= value <= _INT_MAX:
            raise invalid_value(f"Invalid userData value for '{key_path}': integer out of range")
        return
    if isinstance(value, dict):
        if depth >= limits.max_depth:
            raise invalid_value(f"userData nesting deeper than {limits.max_depth} levels at '{key_path}'")
        _check_keys(value.keys(), limits, prefix=f"{key_path}.")
        for nested_key, nested in value.items():
            _check_value(f"{key_path}.{nested_key}", nested, limits, depth + 1)
        return
    raise invalid_value(
        f"Invalid userData value for '{key_path}': expected a string, an integer or an object"
    )


def _check_keys(keys: Iterable[object], limits: UserDataLimits, prefix: str = "") -> None:
    for key in keys:
        if not isinstance(key, str) or key == "":
            raise invalid_value("userData keys must be non-empty strings")
        if len(key) > limits.max_key_length:
            raise invalid_value(
                f"userData key '{prefix}{key[:32]}...' is longer than {limits.max_key_length} characters"
            )


def validate_user_data(data: Mapping[str, object], limits: UserDataLimits) -> UserData:
    """Check a request's userData object; returns it typed. Empty objects are refused (nothing to do)."""
    if not data:
        raise DomainError(ErrorKind.MISSING_PARAMETER, "Missing required parameter: userData")
    _check_keys(data.keys(), limits)
    for key, value in data.items():
        _check_value(key, value, limits, depth=1)
    return dict(data)  # type: ignore[arg-type]


def _size_bound(data: UserData) -> int:
    """An upper bound of the encoded size: every character may take up to 6 bytes once escaped."""
    total = 2
    for key, value in data.items():
        total += 6 * len(key) + 6
        total += _size_bound(value) if isinstance(value, dict) else 6 * len(str(value)) + 2
    return total


def _check_result(result: UserData, limits: UserDataLimits) -> None:
    if len(result) > limits.max_keys:
        raise invalid_value(f"userData would hold {len(result)} keys; the limit is {limits.max_keys}")
    if _size_bound(result) <= limits.max_total_bytes:
        return  # the exact (costlier) measure cannot exceed the limit
    size = len(json.dumps(result, separators=(",", ":"), ensure_ascii=False).encode())
    if size > limits.max_total_bytes:
        raise invalid_value(f"userData would be {size} bytes; the limit is {limits.max_total_bytes}")


def attach(current: UserData, added: UserData, limits: UserDataLimits) -> UserData:
    """AttachUserData: adds the pairs; a key already present is overwritten (JSON has no duplicate keys)."""
    result = {**current, **added}
    _check_result(result, limits)
    return result


def update(current: UserData, changes: UserData, limits: UserDataLimits) -> UserData:
    """UpdateUserData: overwrites the given keys, adds missing ones, keeps every other key."""
    result = {**current, **changes}
    _check_result(result, limits)
    return result


def delete(current: UserData, keys: Iterable[str]) -> UserData:
    """DeleteUserData: removes the given keys; keys that are absent are ignored."""
    doomed = set(keys)
    return {key: value for key, value in current.items() if key not in doomed}


def validate_keys(keys: list[str]) -> list[str]:
    if not keys:
        raise DomainError(ErrorKind.MISSING_PARAMETER, "Missing required parameter: keys")
    if any(not isinstance(key, str) or key == "" for key in keys):
        raise invalid_value("keys must be non-empty strings")
    return keys
