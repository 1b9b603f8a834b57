"""Why an operation was refused, in domain terms; the wire layer maps each kind to a GWS statusCode."""

from __future__ import annotations

from enum import Enum


class ErrorKind(Enum):
    MISSING_PARAMETER = "missing_parameter"
    INVALID_STATE = "invalid_state"
    FORBIDDEN = "forbidden"
    NO_PERMISSION = "no_permission"
    NOT_FOUND = "not_found"
    INVALID_VALUE = "invalid_value"
    IN_USE = "in_use"
    ALREADY_EXISTS = "already_exists"
    STALE_VERSION = "stale_version"  # a conditional write expected a version that is no longer current


class DomainError(Exception):
    """A refused operation. Raised before any change is made, so nothing needs undoing."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def invalid_state(message: str) -> DomainError:
    return DomainError(ErrorKind.INVALID_STATE, message)


def invalid_value(message: str) -> DomainError:
    return DomainError(ErrorKind.INVALID_VALUE, message)


def not_found(message: str) -> DomainError:
    return DomainError(ErrorKind.NOT_FOUND, message)
