"""What the web desktop needs from the server besides GWS: its pages, and the extensions it reads
(the offer's deadline, kind and origin; colleagues with their channel state)."""

from __future__ import annotations

import httpx

from support.agents import ContactCenter
from support.server import RunningServer


def test_the_root_leads_to_the_desktop_and_the_pages_are_served(server: RunningServer) -> None:
    root = httpx.get(server.base_url + "/")
    assert root.status_code == 302 and root.headers["location"] == "/desktop/"
    for path, marker in [("/desktop/", "/static/desktop.js"), ("/simulator/", "/static/handset.js")]:
        page = httpx.get(server.base_url + path)
        assert page.status_code == 200 and marker in page.text
        assert page.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in page.headers["content-security-policy"]
    script = httpx.get(server.base_url + "/static/desktop.js")  # httpx asks for gzip and decodes it
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert script.headers["content-encoding"] == "gzip" and "/meta/handshake" in script.text
    again = httpx.get(
        server.base_url + "/static/desktop.js", headers={"If-None-Match": script.headers["etag"]}
    )
    assert again.status_code == 304
    plain = httpx.get(server.base_url + "/static/style.css", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text.startswith("/*")
    for missing in ["/static/nothing.js", "/static/..%2Fapp.py", "/static/.hidden.js", "/static/x.py"]:
        assert httpx.get(server.base_url + missing).status_code == 404


def test_an_offer_tells_its_deadline_kind_and_origin(cc: ContactCenter) -> None:
    alice = cc.agent(0).listen().log_in()
    bob = cc.agent(1).listen().log_in(ready=False)
    cc.sms(cc.customer_number(), "hello")
    offer = alice.wait_invited()
    assert offer["offerKind"] == "route" and "offeredBy" not in offer
    assert isinstance(offer["offerDeadline"], int) and offer["offerDeadline"] > 0
    alice.op(offer["id"], "Accept")
    status = alice.take(3)[0]["smssession"]
    assert "offerDeadline" not in status and "offerKind" not in status
    alice.op(offer["id"], "Consult", targetUri=bob.uri)
    consult = bob.wait_invited()
    assert consult["offerKind"] == "consult" and consult["offeredBy"] == f"/users/{alice.id}"


def test_colleagues_come_with_their_channel_state(cc: ContactCenter) -> None:
    alice = cc.agent(0).log_in()
    bob = cc.agent(1)
    users = {u["userName"]: u for u in bob.get("/api/v2/users", subresources="channels")["users"]}
    assert users[alice.user_name]["channels"][0]["userState"]["state"] == "Ready"
    assert users[bob.user_name]["channels"] == []
    assert set(users[alice.user_name]) >= {"id", "userName", "uri", "path", "channels"}
