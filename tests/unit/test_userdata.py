"""User data rules (spec §5.11-§5.12, §6): value types, Attach/Update/Delete semantics, named limits."""

from __future__ import annotations

import copy

import pytest
from builders import World, owned_by
from hypothesis import given, settings
from hypothesis import strategies as st

from smsdesk.domain import userdata
from smsdesk.domain.errors import DomainError, ErrorKind
from smsdesk.domain.model import PropertiesChanged, UserDataChanged, UserDataKeyChange
from smsdesk.domain.session import DEFAULT_DISPOSITION_KEY, SmsSession
from smsdesk.domain.userdata import UserDataLimits

LIMITS = UserDataLimits()
FAST = settings(max_examples=60, deadline=None)

keys = st.text(min_size=1, max_size=12)
scalars = st.one_of(st.text(max_size=20), st.integers(min_value=-(2**63), max_value=2**63 - 1))
values = st.recursive(scalars, lambda inner: st.dictionaries(keys, inner, max_size=3), max_leaves=8)
records = st.dictionaries(keys, values, max_size=8)
changes = st.dictionaries(keys, values, min_size=1, max_size=6)


def _session(world: World) -> SmsSession:
    session = owned_by(world, "alice")
    session.record.user_data = {"Subject": "Customer support", "RTargetAgentSelected": "12345"}
    return session


def _refused(call, kind: ErrorKind = ErrorKind.INVALID_VALUE) -> DomainError:
    with pytest.raises(DomainError) as raised:
        call()
    assert raised.value.kind is kind, raised.value.message
    return raised.value


# ----- Attach / Update / Delete semantics -----------------------------------------------------------------


@FAST
@given(current=records, added=changes)
def test_attach_adds_pairs_and_overwrites_existing_keys(current, added) -> None:
    result = userdata.attach(current, added, LIMITS)
    assert set(result) == set(current) | set(added)
    for key, value in result.items():
        assert value == (added[key] if key in added else current[key])


@FAST
@given(current=records, given_changes=changes)
def test_update_overwrites_given_keys_and_keeps_the_rest(current, given_changes) -> None:
    before = copy.deepcopy(current)
    result = userdata.update(current, given_changes, LIMITS)
    assert current == before, "update returns a new mapping"
    assert {k: v for k, v in result.items() if k not in given_changes} == {
        k: v for k, v in current.items() if k not in given_changes
    }
    assert {k: result[k] for k in given_changes} == given_changes


@FAST
@given(current=records, doomed=st.lists(keys, min_size=1, max_size=5))
def test_delete_removes_given_keys_and_ignores_absent_ones(current, doomed) -> None:
    result = userdata.delete(current, doomed)
    assert result == {k: v for k, v in current.items() if k not in doomed}


@FAST
@given(data=changes)
def test_valid_user_data_round_trips_with_exact_types(data) -> None:
    validated = userdata.validate_user_data(data, LIMITS)
    assert validated == data
    assert _types(validated) == _types(data)


def _types(value: object) -> object:
    if isinstance(value, dict):
        return {key: _types(nested) for key, nested in value.items()}
    return type(value)


def test_update_keeps_integers_integers_and_strings_strings(world: World) -> None:
    session = _session(world)
    session.update_user_data({"UserData1": 987654321, "UserData2": "DATAUPDATE-@123"}, LIMITS)
    data = session.record.user_data
    assert data == {
        "Subject": "Customer support",
        "RTargetAgentSelected": "12345",
        "UserData1": 987654321,
        "UserData2": "DATAUPDATE-@123",
    }
    assert type(data["UserData1"]) is int
    assert type(data["UserData2"]) is str
    assert type(data["RTargetAgentSelected"]) is str
    assert session.effects == [
        UserDataChanged(
            None,
            "UpdateUserData",
            1,
            (
                UserDataKeyChange("UserData1", None, 987654321),
                UserDataKeyChange("UserData2", None, "DATAUPDATE-@123"),
            ),
        ),
        PropertiesChanged(),
    ]


def test_nested_objects_are_kept_as_objects(world: World) -> None:
    session = _session(world)
    nested = {"Skills": {"SMS": 10, "Lang": {"fr": "native"}}}
    session.attach_user_data(nested, LIMITS)
    assert session.record.user_data["Skills"] == {"SMS": 10, "Lang": {"fr": "native"}}


def test_attach_on_existing_key_overwrites(world: World) -> None:
    session = _session(world)
    session.attach_user_data({"Subject": "Billing", "New": 1}, LIMITS)
    assert session.record.user_data == {"Subject": "Billing", "RTargetAgentSelected": "12345", "New": 1}


def test_delete_keeps_keys_not_named_and_ignores_absent_keys(world: World) -> None:
    session = _session(world)
    session.delete_user_data(["Subject", "NeverThere"])
    assert session.record.user_data == {"RTargetAgentSelected": "12345"}
    assert session.effects == [
        UserDataChanged(None, "DeleteUserData", 1, (UserDataKeyChange("Subject", "Customer support", None),)),
        PropertiesChanged(),
    ]


def test_set_disposition_writes_default_key(world: World) -> None:
    session = _session(world)
    session.set_disposition("alice", "IssueResolved", None, LIMITS)
    assert session.record.user_data[DEFAULT_DISPOSITION_KEY] == "IssueResolved"
    assert DEFAULT_DISPOSITION_KEY == "DispositionCode"


def test_set_disposition_writes_the_given_key(world: World) -> None:
    session = _session(world)
    session.set_disposition("alice", "resolved", "DISP_KEY", LIMITS)
    assert session.record.user_data["DISP_KEY"] == "resolved"
    assert DEFAULT_DISPOSITION_KEY not in session.record.user_data


def test_set_disposition_without_value_is_missing_parameter(world: World) -> None:
    session = _session(world)
    error = _refused(lambda: session.set_disposition("alice", "", None, LIMITS), ErrorKind.MISSING_PARAMETER)
    assert "disposition" in error.message


# ----- refused values -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [1.5, 1.0, True, False, None, [], ["a"], ("a",), {"a"}, b"bytes"],
    ids=["float", "integral-float", "true", "false", "none", "empty-list", "list", "tuple", "set", "bytes"],
)
def test_unsupported_value_types_are_invalid_and_name_the_key(bad: object) -> None:
    error = _refused(lambda: userdata.validate_user_data({"Amount": bad}, LIMITS))
    assert "'Amount'" in error.message


def test_unsupported_nested_value_names_the_dotted_key_path() -> None:
    error = _refused(lambda: userdata.validate_user_data({"Outer": {"Inner": 2.5}}, LIMITS))
    assert "'Outer.Inner'" in error.message


def test_integers_beyond_signed_64_bits_are_invalid() -> None:
    userdata.validate_user_data({"Big": 2**63 - 1, "Small": -(2**63)}, LIMITS)
    error = _refused(lambda: userdata.validate_user_data({"Big": 2**63}, LIMITS))
    assert "'Big'" in error.message and "range" in error.message
    _refused(lambda: userdata.validate_user_data({"Small": -(2**63) - 1}, LIMITS))


@pytest.mark.parametrize("bad_key", ["", 5, None])
def test_keys_must_be_non_empty_strings(bad_key: object) -> None:
    _refused(lambda: userdata.validate_user_data({bad_key: "x"}, LIMITS))
    _refused(lambda: userdata.validate_user_data({"Outer": {bad_key: "x"}}, LIMITS))


def test_empty_user_data_is_a_missing_parameter(world: World) -> None:
    session = _session(world)
    for operation in (session.attach_user_data, session.update_user_data):
        error = _refused(lambda op=operation: op({}, LIMITS), ErrorKind.MISSING_PARAMETER)
        assert "userData" in error.message


def test_empty_key_list_is_a_missing_parameter(world: World) -> None:
    session = _session(world)
    error = _refused(lambda: session.delete_user_data([]), ErrorKind.MISSING_PARAMETER)
    assert "keys" in error.message


@pytest.mark.parametrize("bad_key", ["", 7])
def test_delete_keys_must_be_non_empty_strings(world: World, bad_key: object) -> None:
    session = _session(world)
    _refused(lambda: session.delete_user_data(["Subject", bad_key]))
    assert "Subject" in session.record.user_data


# ----- named limits ---------------------------------------------------------------------------------------


def test_max_keys_counts_the_resulting_record() -> None:
    limits = UserDataLimits(max_keys=3)
    assert len(userdata.attach({"a": "1", "b": "2"}, {"c": "3"}, limits)) == 3
    error = _refused(lambda: userdata.attach({"a": "1", "b": "2"}, {"c": "3", "d": "4"}, limits))
    assert "4 keys" in error.message and "limit is 3" in error.message
    assert userdata.update({"a": "1", "b": "2", "c": "3"}, {"a": "x"}, limits) == {
        "a": "x",
        "b": "2",
        "c": "3",
    }
    _refused(lambda: userdata.update({"a": "1", "b": "2", "c": "3"}, {"z": "x"}, limits))


def test_max_key_length_applies_at_every_level() -> None:
    limits = UserDataLimits(max_key_length=5)
    userdata.validate_user_data({"abcde": {"vwxyz": 1}}, limits)
    error = _refused(lambda: userdata.validate_user_data({"abcdef": 1}, limits))
    assert "longer than 5 characters" in error.message
    error = _refused(lambda: userdata.validate_user_data({"outer": {"abcdef": 1}}, limits))
    assert "outer." in error.message and "longer than 5" in error.message


def test_max_total_bytes_measures_compact_utf8_json() -> None:
    # {"k":"éé"} is 10 characters but 12 bytes in UTF-8 (é is two bytes); ASCII escapes would make it 18.
    assert userdata.attach({}, {"k": "éé"}, UserDataLimits(max_total_bytes=12)) == {"k": "éé"}
    error = _refused(lambda: userdata.attach({}, {"k": "éé"}, UserDataLimits(max_total_bytes=11)))
    assert "12 bytes" in error.message and "limit is 11" in error.message


def test_max_depth_counts_the_user_data_object_as_the_first_level() -> None:
    limits = UserDataLimits(max_depth=3)
    userdata.validate_user_data({"a": {"b": {"c": "leaf"}}}, limits)
    error = _refused(lambda: userdata.validate_user_data({"a": {"b": {"c": {"d": "leaf"}}}}, limits))
    assert "deeper than 3 levels" in error.message and "'a.b.c'" in error.message


def test_default_limits_are_the_documented_ones() -> None:
    assert UserDataLimits(max_keys=200, max_key_length=256, max_total_bytes=65536, max_depth=8) == LIMITS


@pytest.mark.parametrize(
    ("operation", "data", "limits"),
    [
        ("attach", {"x": "1", "y": "2"}, UserDataLimits(max_keys=3)),
        ("update", {"x": "1", "y": "2"}, UserDataLimits(max_keys=3)),
        ("attach", {"Subject": "x" * 100}, UserDataLimits(max_total_bytes=80)),
        ("update", {"k" * 10: "v"}, UserDataLimits(max_key_length=9)),
        ("attach", {"a": {"b": {}}}, UserDataLimits(max_depth=2)),
        ("update", {"ok": "fine", "bad": 0.5}, LIMITS),
    ],
    ids=["attach-keys", "update-keys", "attach-bytes", "update-key-length", "attach-depth", "update-type"],
)
def test_a_refused_change_leaves_the_record_and_effects_unchanged(
    world: World, operation: str, data: dict[str, object], limits: UserDataLimits
) -> None:
    session = _session(world)
    before = copy.deepcopy(session.record)
    method = session.attach_user_data if operation == "attach" else session.update_user_data
    _refused(lambda: method(data, limits))
    assert session.record == before
    assert session.effects == []


# ----- conditional writes and the audit trail ----------------------------------------------------


def test_every_change_moves_the_version_on_and_a_no_op_does_not(world: World) -> None:
    session = _session(world)
    assert session.record.user_data_version == 0
    session.update_user_data({"A": 1}, LIMITS, "alice", expected_version=0)
    session.attach_user_data({"A": 1}, LIMITS, "alice")  # same value: nothing changed
    assert session.record.user_data_version == 1
    session.set_disposition("alice", "Resolved", None, LIMITS)
    session.delete_user_data(["A"], "bob", expected_version=2)
    assert session.record.user_data_version == 3
    audit = [e for e in session.effects if isinstance(e, UserDataChanged)]
    assert [(e.user_id, e.operation, e.version) for e in audit] == [
        ("alice", "UpdateUserData", 1),
        ("alice", "SetDisposition", 2),
        ("bob", "DeleteUserData", 3),
    ]
    assert audit[1].changes == (UserDataKeyChange("DispositionCode", None, "Resolved"),)
    assert audit[2].changes == (UserDataKeyChange("A", 1, None),)


def test_a_stale_expected_version_is_refused_before_anything_changes(world: World) -> None:
    session = _session(world)
    session.update_user_data({"A": 1}, LIMITS, "alice", expected_version=0)
    before = dict(session.record.user_data)
    for write in (
        lambda: session.update_user_data({"A": 2}, LIMITS, "bob", expected_version=0),
        lambda: session.attach_user_data({"B": 2}, LIMITS, "bob", expected_version=0),
        lambda: session.delete_user_data(["A"], "bob", expected_version=5),
    ):
        with pytest.raises(DomainError) as raised:
            write()
        assert raised.value.kind is ErrorKind.STALE_VERSION
        assert "now at version 1" in raised.value.message
    assert session.record.user_data == before and session.record.user_data_version == 1
