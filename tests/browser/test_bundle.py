"""The desktop bundle committed in the Python package is what its sources build, and stays small."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import pytest

from .desk import REPO

pytestmark = pytest.mark.slow

WEB = REPO / "web"
STATIC = REPO / "src" / "smsdesk" / "web" / "static"
BUDGET_GZIPPED = 150 * 1024


def test_the_committed_bundle_is_what_the_sources_build(tmp_path: Path) -> None:
    assert (WEB / "node_modules").is_dir(), "run `make browser-deps` (npm ci in web/)"
    subprocess.run(["node", "build.mjs", str(tmp_path)], cwd=WEB, check=True, timeout=120)
    built = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    committed = {p.name: p.read_bytes() for p in STATIC.iterdir()}
    stale = sorted(name for name in built.keys() | committed.keys() if built.get(name) != committed.get(name))
    assert stale == [], f"stale bundle files {stale}: run `make web` and commit src/smsdesk/web/static"


def test_the_served_javascript_fits_the_budget() -> None:
    sizes = {p.name: len(gzip.compress(p.read_bytes(), 9)) for p in STATIC.glob("*.js")}
    assert sizes and all(size < BUDGET_GZIPPED for size in sizes.values()), sizes
