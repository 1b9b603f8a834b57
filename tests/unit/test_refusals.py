"""The one mapping from a refusal to its envelope (``http/responses.error_for``): the limits' 429s
with ``Retry-After``, and a storage conflict the route could not retry away as a 503."""

from __future__ import annotations

from smsdesk.domain.errors import DomainError, ErrorKind
from smsdesk.gws.envelope import StatusCode
from smsdesk.http.responses import REFUSALS, error_for
from smsdesk.operations.ports import StorageConflict, StorageInDoubt, StorageUnavailable
from smsdesk.operations.ratelimit import RateLimited
from smsdesk.operations.signin_throttle import SignInThrottled


def test_each_refusal_has_its_status_code_http_status_and_headers() -> None:
    answers = {
        type(refusal).__name__: error_for(refusal)
        for refusal in (
            DomainError(ErrorKind.NOT_FOUND, "SMS session not found"),
            SignInThrottled(5),
            RateLimited("user", 2),
            StorageConflict(),
            StorageUnavailable("the database is unavailable (ConnectionRefusedError)"),
            StorageInDoubt("the database failed while this request was being committed"),
        )
    }
    seen = {
        name: (int(error.status), error.http_status, error.headers, error.message)
        for name, error in answers.items()
        if error is not None
    }
    assert seen == {
        "DomainError": (int(StatusCode.NOT_FOUND), 404, {}, "SMS session not found"),
        "SignInThrottled": (20, 429, {"Retry-After": "5"}, "Too many failed sign-ins; retry in 5 s"),
        "RateLimited": (3, 429, {"Retry-After": "2"}, "Too many requests for this user; retry in 2 s"),
        "StorageConflict": (4, 503, {"Retry-After": "1"}, "Busy with concurrent changes: try again"),
        "StorageUnavailable": (
            4,
            503,
            {"Retry-After": "2"},
            "The database is unavailable (failing over or restarting); nothing was done: try again",
        ),
        "StorageInDoubt": (
            4,
            503,
            {"Retry-After": "2", "X-Smsdesk-Outcome": "unknown"},
            "Outcome unknown: the database failed while this request was being committed",
        ),
    }
    assert all(
        isinstance(refusal, REFUSALS)
        for refusal in (SignInThrottled(1), StorageConflict(), StorageUnavailable(), StorageInDoubt())
    )
