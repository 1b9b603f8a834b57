"""The GWS ``statusCode`` envelope and the HTTP status that goes with each code."""

from __future__ import annotations

from enum import IntEnum

from smsdesk.domain.errors import ErrorKind


class StatusCode(IntEnum):
    SUCCESS = 0
    MISSING_PARAMETER = 1
    INVALID_STATE = 2
    FORBIDDEN = 3
    INTERNAL_ERROR = 4
    NO_PERMISSION = 5
    NOT_FOUND = 6
    PARTIAL_SUCCESS = 7
    VALIDATION_ERROR = 10
    READ_ONLY = 11
    ALREADY_EXISTS = 18
    IN_USE = 19
    NOT_AUTHENTICATED = 20
    STALE_VERSION = 21  # smsdesk extension: a conditional userData write lost the race


HTTP_STATUS: dict[StatusCode, int] = {
    StatusCode.SUCCESS: 200,
    StatusCode.MISSING_PARAMETER: 400,
    StatusCode.INVALID_STATE: 400,
    StatusCode.FORBIDDEN: 403,
    StatusCode.INTERNAL_ERROR: 500,
    StatusCode.NO_PERMISSION: 403,
    StatusCode.NOT_FOUND: 404,
    StatusCode.PARTIAL_SUCCESS: 200,
    StatusCode.VALIDATION_ERROR: 400,
    StatusCode.READ_ONLY: 400,
    StatusCode.ALREADY_EXISTS: 409,
    StatusCode.IN_USE: 409,
    StatusCode.NOT_AUTHENTICATED: 401,
    StatusCode.STALE_VERSION: 409,
}

STATUS_FOR_KIND: dict[ErrorKind, StatusCode] = {
    ErrorKind.MISSING_PARAMETER: StatusCode.MISSING_PARAMETER,
    ErrorKind.INVALID_STATE: StatusCode.INVALID_STATE,
    ErrorKind.FORBIDDEN: StatusCode.FORBIDDEN,
    ErrorKind.NO_PERMISSION: StatusCode.NO_PERMISSION,
    ErrorKind.NOT_FOUND: StatusCode.NOT_FOUND,
    ErrorKind.INVALID_VALUE: StatusCode.VALIDATION_ERROR,
    ErrorKind.IN_USE: StatusCode.IN_USE,
    ErrorKind.ALREADY_EXISTS: StatusCode.ALREADY_EXISTS,
    ErrorKind.STALE_VERSION: StatusCode.STALE_VERSION,
}


class GwsError(Exception):
    """A failure answered with ``{"statusCode": N, "statusMessage": "..."}`` and nothing else."""

    def __init__(self, status: StatusCode, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.status, 400)

    def body(self) -> dict[str, object]:
        return {"statusCode": int(self.status), "statusMessage": self.message}
