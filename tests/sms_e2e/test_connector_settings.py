"""The ``[connectors.<name>]`` and ``[[service_numbers]]`` settings: what is accepted, and that every
mistake stops the server at startup with a message naming it, never a traceback."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from smsdesk.config import ServiceNumberSetting, Settings, load_settings
from smsdesk.connectors.factory import ConnectorConfigError, build_connectors, parse_connector_configs
from smsdesk.connectors.simulator import SimulatorConnector
from smsdesk.connectors.smpp import SmppConfig, SmppConnector
from smsdesk.connectors.twilio_format import TwilioConfig, TwilioConnector
from smsdesk.node import open_store
from support.server import RunningServer, database_url_for

TWILIO = {
    "type": "twilio",
    "account_sid": "AC123",
    "auth_token": "token",
    "public_webhook_base_url": "https://sms.example.com/connectors/twilio",
}
SMPP = {"type": "smpp", "host": "smsc.example.net", "system_id": "esme", "password": "pw"}


def test_each_type_builds_its_connector_named_after_its_section() -> None:
    connectors = build_connectors(
        {
            "twilio-us": TWILIO,
            "carrier": {**SMPP, "port": 2776, "window": 4},
            "simulator": {"type": "simulator"},
        }
    )
    assert isinstance(connectors["twilio-us"], TwilioConnector)
    assert isinstance(connectors["carrier"], SmppConnector)
    assert isinstance(connectors["simulator"], SimulatorConnector)
    assert {name: connector.name for name, connector in connectors.items()} == {
        "twilio-us": "twilio-us",
        "carrier": "carrier",
        "simulator": "simulator",
    }
    smpp = connectors["carrier"]
    assert isinstance(smpp, SmppConnector)
    assert (smpp.config.port, smpp.config.window, smpp.config.enquire_link_interval) == (2776, 4, 30.0)


def test_secrets_may_come_from_the_environment() -> None:
    configs = parse_connector_configs(
        {
            "twilio": {**{k: v for k, v in TWILIO.items() if k != "auth_token"}, "auth_token_env": "TW"},
            "smpp": {**{k: v for k, v in SMPP.items() if k != "password"}, "password_env": "PW"},
        },
        environ={"TW": "from-env", "PW": "smpp-pw1"},
    )
    twilio, smpp = configs["twilio"], configs["smpp"]
    assert isinstance(twilio, TwilioConfig) and twilio.auth_token == "from-env"
    assert isinstance(smpp, SmppConfig) and smpp.password == "smpp-pw1"
    assert "from-env" not in repr(twilio)  # the dataclasses keep secrets out of repr, and so logs


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"x": {"type": "carrier-pigeon"}}, "[connectors.x]: type must be one of twilio, smpp, simulator"),
        ({"x": {"host": "h"}}, "[connectors.x]: type must be one of"),
        (
            {"x": {k: v for k, v in TWILIO.items() if k != "account_sid"}},
            "missing required setting 'account_sid'",
        ),
        ({"x": {k: v for k, v in TWILIO.items() if k != "auth_token"}}, "'auth_token' (or auth_token_env)"),
        ({"x": {**TWILIO, "auth_tokn": "t"}}, "unknown setting 'auth_tokn'"),
        ({"x": {**TWILIO, "public_webhook_base_url": "sms.example.com"}}, "expected an absolute http(s) URL"),
        ({"x": {**SMPP, "port": "2775"}}, "port: expected an integer, got str '2775'"),
        ({"x": {**SMPP, "port": 99999}}, "port: 99999 is out of range"),
        ({"x": {**SMPP, "window": True}}, "window: expected an integer, got a boolean"),
        ({"x": {**SMPP, "password_env": "NOPE"}}, "give password or password_env, not both"),
        (
            {"x": {**{k: v for k, v in SMPP.items() if k != "password"}, "password_env": "NOPE"}},
            "environment variable NOPE is not set",
        ),
        ({"x": {**SMPP, "name": "y"}}, "unknown setting 'name'"),
        ({"simulator": TWILIO}, "reserved for, and required of, type simulator"),
        ({"sim": {"type": "simulator"}}, "reserved for, and required of, type simulator"),
        ({"simulator": {"type": "simulator", "speed": 2}}, "the simulator takes no settings"),
        ({"a/b": TWILIO}, "[connectors.a/b]: a connector name is letters"),
        # SMPP 3.4's field sizes: smpplib would cut these short silently and the bind fail forever.
        ({"x": {**SMPP, "system_id": "s" * 16}}, "system_id: 16 characters, SMPP 3.4 allows at most 15"),
        ({"x": {**SMPP, "password": "p" * 9}}, "password: 9 characters, SMPP 3.4 allows at most 8"),
        ({"x": {**SMPP, "system_type": "t" * 13}}, "system_type: 13 characters, SMPP 3.4 allows at most 12"),
        ({"x": {**SMPP, "system_id": "smsdésk"}}, "system_id: SMPP allows ASCII characters only"),
        ({"x": {**SMPP, "source_ton": 9}}, "source_ton: 9 is not an SMPP type of number"),
        ({"x": {**SMPP, "destination_npi": 2}}, "destination_npi: 2 is not an SMPP numbering plan"),
    ],
)
def test_mistakes_are_named(sections: dict[str, dict[str, object]], message: str) -> None:
    with pytest.raises(ConnectorConfigError) as raised:
        parse_connector_configs(sections, environ={})
    assert message in str(raised.value)


def test_every_mistake_is_reported_at_once() -> None:
    with pytest.raises(ConnectorConfigError) as raised:
        parse_connector_configs({"a": {"type": "fax"}, "b": {"type": "smpp"}}, environ={})
    text = str(raised.value)
    assert "[connectors.a]" in text and "[connectors.b]: missing required setting 'host'" in text


def test_service_numbers_from_the_settings_file(tmp_path: Path) -> None:
    path = tmp_path / "smsdesk.toml"
    path.write_text(
        '[connectors.twilio]\ntype = "twilio"\naccount_sid = "AC1"\nauth_token = "t"\n'
        'public_webhook_base_url = "https://x.example/connectors/twilio"\n'
        '[[service_numbers]]\nnumber = "+15550001"\nqueue = "support"\nconnector = "twilio"\n'
        '[[service_numbers]]\nnumber = "+15550002"\nqueue = "sales"\ntenant = "acme"\nconnector = "twilio"\n'
    )
    settings = load_settings(str(path))
    assert settings.service_numbers == (
        ServiceNumberSetting("+15550001", "support", "twilio", "default"),
        ServiceNumberSetting("+15550002", "sales", "twilio", "acme"),
    )
    assert settings.connectors["twilio"]["type"] == "twilio"


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ('[[service_numbers]]\nnumber = "+1"\nqueue = "q"\n', "service_numbers entry 1: missing connector"),
        (
            '[[service_numbers]]\nnumber = "+1"\nqueue = "q"\nconnector = "c"\nroute = "x"\n',
            "unknown setting(s) route",
        ),
        (
            '[[service_numbers]]\nnumber = 1\nqueue = "q"\nconnector = "c"\n',
            "number must be non-empty strings",
        ),
        (
            '[[service_numbers]]\nnumber = "+1"\nqueue = "q"\nconnector = "c"\n' * 2,
            "service_numbers entry 2: number +1 is listed twice",
        ),
        ('service_numbers = "+1"\n', "service_numbers must be an array of tables"),
    ],
)
def test_service_number_mistakes_are_named(tmp_path: Path, entries: str, message: str) -> None:
    path = tmp_path / "smsdesk.toml"
    path.write_text(entries)
    with pytest.raises(ValueError) as raised:
        load_settings(str(path))
    assert message in str(raised.value)


# ---------------------------------------------------------------------------------------------
# The server refuses to start, with the reason and without a traceback


def serve(tmp_path: Path, config: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "smsdesk.toml"
    path.write_text(config)
    database = database_url_for(tmp_path / "smsdesk.db")
    store = open_store(Settings(database_url=database))
    store.migrate()
    store.close()
    command = [
        sys.executable,
        "-m",
        "smsdesk",
        "serve",
        "--port",
        "1",
        "--database",
        database,
        "--config",
        str(path),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('[connectors.x]\ntype = "fax"\n', "[connectors.x]: type must be one of twilio, smpp, simulator"),
        ('[connectors.x]\ntype = "smpp"\nhost = "h"\n', "missing required setting 'system_id'"),
        (
            '[[service_numbers]]\nnumber = "+1555"\nqueue = "q"\nconnector = "twilio"\n',
            "service number +1555: no connector named 'twilio' (configured: none)",
        ),
        (
            '[connectors.simulator]\ntype = "simulator"\n'
            '[[service_numbers]]\nnumber = "+1555"\nqueue = "q"\ntenant = "nobody"\nconnector = "simulator"\n',
            "contact center (tenant) 'nobody' does not exist",
        ),
        ('[[service_numbers]]\nnumber = "+1555"\n', "service_numbers entry 1: missing queue, connector"),
    ],
)
def test_server_refuses_bad_settings_with_a_message(tmp_path: Path, config: str, message: str) -> None:
    result = serve(tmp_path, config)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert message in output, output
    assert "Traceback" not in output, output


def provision(database: str, tenant: str, queue: str, number: str | None = None) -> None:
    """A contact center with one agent (and a number) written straight to the database, as the CLI does."""
    from smsdesk.gws.representation import Urls
    from smsdesk.node import operation_settings
    from smsdesk.operations import admin
    from smsdesk.operations.services import Services

    settings = Settings(database_url=database)
    store = open_store(settings)
    store.migrate()
    services = Services(store, Urls("http://127.0.0.1"), operation_settings(settings))

    async def run() -> None:
        await admin.add_user(services, f"{tenant}-agent", "pass-word", tenant=tenant, queues=(queue,))
        if number is not None:
            await admin.add_service_number(services, number, queue=queue, tenant=tenant)

    asyncio.run(run())
    store.close()


@pytest.mark.slow
def test_a_number_the_database_routes_elsewhere_is_refused(tmp_path: Path) -> None:
    provision(database_url_for(tmp_path / "smsdesk.db"), "acme", "support", number="+15550123")
    result = serve(
        tmp_path,
        '[connectors.simulator]\ntype = "simulator"\n'
        '[[service_numbers]]\nnumber = "+15550123"\nqueue = "sales"\ntenant = "acme"\nconnector = "simulator"\n',
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "service number +15550123: the database already routes it to queue 'support'" in output, output
    assert "Traceback" not in output, output


@pytest.mark.slow
def test_numbers_are_applied_at_startup_and_again_on_restart(tmp_path: Path) -> None:
    database = tmp_path / "smsdesk.db"
    provision(database_url_for(database), "acme", "support")
    config = tmp_path / "smsdesk.toml"
    config.write_text(
        '[connectors.simulator]\ntype = "simulator"\n'
        '[[service_numbers]]\nnumber = "+15550124"\nqueue = "support"\ntenant = "acme"\nconnector = "simulator"\n'
    )
    server = RunningServer(database, demo=False, config=config).start()
    try:
        sms = {"from": "+15559990000", "to": "+15550124", "text": "hello"}
        assert httpx.post(f"{server.base_url}/simulator/sms", json=sms, timeout=10).status_code == 200
        server.restart(kill=False)  # the number exists now: applying it again is a no-op
        sms["text"] = "again"
        assert httpx.post(f"{server.base_url}/simulator/sms", json=sms, timeout=10).status_code == 200
    finally:
        server.stop()
