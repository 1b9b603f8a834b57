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
    """A failure answered with ``{"statusCode": N, "statusMessage": "..."}`` and nothing else.

    The HTTP status follows the statusCode (:data:`HTTP_STATUS`) unless the failure is one HTTP
    itself names better (405 with ``Allow``, 413, 408, 429): then ``http_status`` says so and
    ``headers`` carries what that status requires.
    """

    def __init__(
        self,
        status: StatusCode,
        message: str,
        http_status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self._http_status = http_status
        self.headers = headers or {}

    @property
    def http_status(self) -> int:
        if self._http_status is not None:
            return self._http_status
        return HTTP_STATUS.get(self.status, 400)

    def body(self) -> dict[str, object]:
        return {"statusCode": int(self.status), "statusMessage": self.message}
