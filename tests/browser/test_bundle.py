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


def test_the_composer_counts_segments_by_the_servers_rules(tmp_path: Path) -> None:
    """web/src/sms.ts against smsdesk.domain.sms_encoding on texts chosen to hit every edge:
    the GSM-7 extension table, astral characters, and the 160/153 and 70/67 boundaries."""
    import json
    import random

    from smsdesk.domain.sms_encoding import GSM7_BASIC, GSM7_EXTENSION, analyse

    rng = random.Random(9)
    alphabets = ["".join(GSM7_BASIC), "".join(GSM7_BASIC) + "".join(GSM7_EXTENSION), "aé€😀你\u2019\n"]
    texts = ["", "€" * 80, "€" * 81, "😀" * 35, "😀" * 36, "a" * 152 + "€"]
    for _ in range(300):
        alphabet = rng.choice(alphabets)
        texts.append(
            "".join(rng.choice(alphabet) for _ in range(rng.choice([1, 69, 70, 71, 153, 160, 161, 307, 400])))
        )
    bundle = tmp_path / "sms.mjs"
    subprocess.run(
        [
            "node_modules/.bin/esbuild",
            "src/sms.ts",
            "--bundle",
            "--format=esm",
            f"--outfile={bundle}",
            "--log-level=warning",
        ],
        cwd=WEB,
        check=True,
        timeout=60,
    )
    (tmp_path / "texts.json").write_text(json.dumps(texts))
    script = (
        f"import {{analyse}} from {json.dumps(str(bundle))};"
        f"import {{readFileSync}} from 'node:fs';"
        f"const texts = JSON.parse(readFileSync({json.dumps(str(tmp_path / 'texts.json'))}, 'utf8'));"
        "process.stdout.write(JSON.stringify(texts.map(analyse)));"
    )
    result = subprocess.run(
        ["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True, timeout=60
    )
    browser = json.loads(result.stdout)
    server = [analyse(text) for text in texts]
    mismatches = [
        (text[:20], mine, (theirs.encoding, theirs.segments, theirs.units))
        for text, mine, theirs in zip(texts, browser, server, strict=True)
        if (mine["encoding"], mine["segments"], mine["units"])
        != (theirs.encoding, theirs.segments, theirs.units)
    ]
    assert mismatches == []
