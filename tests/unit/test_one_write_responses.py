"""smsdesk's HTTP connection (``http/server_protocol.py``) sends a response's head and body in one
write, and still answers ``Expect: 100-continue`` before the body is read. Driven through uvicorn's
own protocol code with a transport that records every write."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from uvicorn.config import Config
from uvicorn.server import ServerState

from smsdesk.http.server_protocol import ConnectionLimits, guarded_protocol


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        self.writes.append(b"".join(list_of_data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8080)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


async def _echo(request: Request) -> Response:
    return JSONResponse({"statusCode": 0, "echo": (await request.body()).decode()})


async def _empty(request: Request) -> Response:
    return Response(status_code=204)


async def _big(request: Request) -> Response:
    return Response(b"x" * 200_000, media_type="application/octet-stream")


APP = Starlette(
    routes=[
        Route("/echo", _echo, methods=["POST"]),
        Route("/empty", _empty, methods=["GET", "HEAD"]),
        Route("/big", _big),
    ]
)


async def _exchange(*parts: bytes, cycles: list[weakref.ref[Any]] | None = None) -> RecordingTransport:
    config = Config(app=APP, lifespan="off", log_level="warning")
    config.load()
    protocol = guarded_protocol(ConnectionLimits())(config, ServerState(), {}, asyncio.get_running_loop())
    transport = RecordingTransport()
    protocol.connection_made(transport)
    for part in parts:
        protocol.data_received(part)
        for _ in range(20):
            await asyncio.sleep(0)
        if cycles is not None:
            cycles.append(weakref.ref(protocol.cycle))
    return transport


def test_a_response_leaves_in_one_write() -> None:
    body = b'{"operationName":"UpdateUserData"}'
    request = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    transport = asyncio.run(_exchange(request, request))
    assert len(transport.writes) == 2  # one per response, for two requests on one connection
    for write in transport.writes:
        assert write.startswith(b"HTTP/1.1 200 OK\r\n")
        assert write.endswith(b'"echo":"{\\"operationName\\":\\"UpdateUserData\\"}"}')


def test_a_response_without_body_and_a_large_one_are_whole() -> None:
    transport = asyncio.run(
        _exchange(b"GET /empty HTTP/1.1\r\nHost: x\r\n\r\n", b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
    )
    assert transport.writes[0].startswith(b"HTTP/1.1 204 No Content\r\n")
    assert transport.writes[0].endswith(b"\r\n\r\n")
    big = b"".join(transport.writes[1:])
    assert big.startswith(b"HTTP/1.1 200 OK\r\n")
    assert big.endswith(b"\r\n\r\n" + b"x" * 200_000)


def test_the_head_of_a_response_to_head_is_not_held() -> None:
    transport = asyncio.run(_exchange(b"HEAD /empty HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert len(transport.writes) == 1
    assert transport.writes[0].startswith(b"HTTP/1.1 204 No Content\r\n")


def test_100_continue_is_written_before_the_body_arrives() -> None:
    body = b'{"a":1}'
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
    transport = asyncio.run(_exchange(head, body))
    assert transport.writes[0] == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert len(transport.writes) == 2
    assert transport.writes[1].startswith(b"HTTP/1.1 200 OK\r\n")


def test_a_finished_request_is_freed_without_the_garbage_collector() -> None:
    """The writer must not tie itself and the request's cycle into a loop of references: under the
    server's garbage-collector tuning, every request would then stay in memory for a while."""
    request = b"GET /empty HTTP/1.1\r\nHost: x\r\n\r\n"
    cycles: list[weakref.ref[Any]] = []
    gc.collect()
    gc.disable()
    try:
        asyncio.run(_exchange(request, request, request, cycles=cycles))
        assert cycles[0]() is None and cycles[1]() is None
    finally:
        gc.enable()
