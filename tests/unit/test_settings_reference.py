"""docs/settings.md names every setting once, and the numbers it gives as defaults are the defaults."""

from __future__ import annotations

import re
from dataclasses import MISSING, fields
from pathlib import Path

from smsdesk.config import Settings

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def documented_rows() -> list[tuple[list[str], str]]:
    """(the setting names of a row, its default cell), for every row of the settings table."""
    rows = []
    for line in REFERENCE.read_text().splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows.append((re.findall(r"`([a-z_]+)`", cells[0]), cells[1]))
    return rows


def test_every_setting_is_documented_once() -> None:
    documented = [name for names, _ in documented_rows() for name in names]
    known = [setting.name for setting in fields(Settings)]
    assert sorted(set(documented)) == sorted(known), set(documented) ^ set(known)
    assert len(documented) == len(set(documented)), [n for n in documented if documented.count(n) > 1]


def test_documented_numeric_defaults_are_the_defaults() -> None:
    checked = 0
    for names, default_cell in documented_rows():
        values = [value.strip("` ") for value in default_cell.split(", ")]
        if len(values) != len(names):
            continue
        for name, value in zip(names, values, strict=True):
            if not re.fullmatch(r"\d+(\.\d+)?", value):
                continue  # "1 MiB", "none", "off": read by a person
            setting = next(f for f in fields(Settings) if f.name == name)
            assert setting.default is not MISSING
            assert float(value) == float(setting.default), (name, value, setting.default)
            checked += 1
    assert checked > 40  # the table's numbers were read, not skipped
