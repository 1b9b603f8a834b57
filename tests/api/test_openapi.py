"""The OpenAPI document: valid OpenAPI 3.1, generated from the decoding Structs, covering every
route, and a property-based run over it (schemathesis): every generated request, valid or not,
gets a documented status and the envelope, never a 5xx. ``FUZZ_EXAMPLES`` makes the run long
(``make fuzz``)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.routing import Route

from smsdesk.gws.bounds import InputBounds
from smsdesk.http.api import GwsApi
from smsdesk.http.openapi import Limits, openapi_document
from smsdesk.operations.services import OperationSettings
from support.agents import PASSWORD, ContactCenter, create_contact_center
from support.server import RunningServer

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
REPORT = os.environ.get("FUZZ_REPORT")
DOCUMENT = openapi_document(Limits(InputBounds(), 1_600, 200))
schema = schemathesis.openapi.from_dict(DOCUMENT)
# The aliases GWS documents for the session routes (docs/gws-compatibility.md, "Paths").
ALIASES = ("/api/v2/smssessions", "/api/v2/me/smsessions", "/api/v2/smsessions")


def test_the_served_document_is_valid_openapi_3_1(server: RunningServer) -> None:
    response = httpx.get(server.base_url + "/api/v2/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    validate(document)
    assert document == json.loads(json.dumps(DOCUMENT))  # defaults: the same document


def test_every_api_route_is_documented_and_nothing_else() -> None:
    fake = SimpleNamespace(urls=None, settings=OperationSettings())
    api = GwsApi(fake, security=None)  # type: ignore[arg-type]
    served = {
        (route.path, method.lower())
        for route in api.routes()
        if isinstance(route, Route) and not route.path.startswith(ALIASES)
        for method in route.methods or ()
        if method != "HEAD"
    }
    served.add(("/api/v2/notifications", "post"))
    documented = {(path, method) for path, item in DOCUMENT["paths"].items() for method in item}
    assert documented == served


def test_request_bodies_come_from_the_decoding_structs() -> None:
    from smsdesk.gws import requests as rq

    schemas = DOCUMENT["components"]["schemas"]
    for name, cls in rq.SMS_SESSION_OPERATIONS.items():
        assert name in schemas[cls.__name__]["properties"]["operationName"]["enum"]
        assert set(schemas[cls.__name__]["properties"]) == set(cls.__struct_fields__)
    assert schemas["SendMessage"]["properties"]["text"]["maxLength"] == 1_600
    assert schemas["StartContactCenterSession"]["properties"]["channels"]["maxItems"] == 256


class Tally:
    def __init__(self) -> None:
        self.cases = 0
        self.server_errors = 0
        self.started = time.monotonic()


@pytest.fixture(scope="module")
def fuzz_center(server: RunningServer) -> Iterator[ContactCenter]:
    center = create_contact_center(server, agents=1)
    yield center
    center.close()


@pytest.fixture(scope="module")
def tally() -> Iterator[Tally]:
    counts = Tally()
    yield counts
    if REPORT:
        Path(REPORT).write_text(
            json.dumps(
                {
                    "cases": counts.cases,
                    "server_errors": counts.server_errors,
                    "seconds": round(time.monotonic() - counts.started, 1),
                }
            )
        )


@pytest.fixture(scope="module")
def http(fuzz_center: ContactCenter) -> Iterator[requests.Session]:
    session = requests.Session()
    session.auth = (fuzz_center.agent_names[0], PASSWORD)
    yield session
    session.close()


def enveloped(response: Any, path: str) -> None:
    """Every reply under /api/v2 is the envelope (Bayeux replies and this document aside)."""
    body = response.json()
    if response.status_code != 200:
        assert isinstance(body, dict) and set(body) == {"statusCode", "statusMessage"}, body
        assert body["statusCode"] != 0
    elif path not in ("/api/v2/notifications", "/api/v2/openapi.json"):
        assert body["statusCode"] == 0


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=EXAMPLES <= 50,
)
def test_every_generated_request_is_answered_with_a_documented_envelope(
    case: schemathesis.Case, server: RunningServer, http: requests.Session, tally: Tally
) -> None:
    response = case.call(base_url=server.base_url, session=http, timeout=30)
    tally.cases += 1
    if response.status_code >= 500:
        tally.server_errors += 1
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
    enveloped(response, case.operation.path)


def test_docs_api_md_is_current() -> None:
    from smsdesk.http.openapi_markdown import default_document, render

    page = Path(__file__).parents[2] / "docs" / "api.md"
    assert page.read_text() == render(default_document()), "run `make api-docs`"
