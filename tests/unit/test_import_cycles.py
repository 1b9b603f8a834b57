"""No module of smsdesk imports, through any chain of imports (those made for type hints only
included), a module that imports it back.

A circle makes the import order matter and hides which module is built on which. The layer
contracts in pyproject.toml keep packages apart; this keeps the modules within each honest too.
"""

from __future__ import annotations

import grimp

PACKAGES = ("smsdesk",)


def test_no_import_circles() -> None:
    graph = grimp.build_graph("smsdesk")
    modules = {m for package in PACKAGES for m in graph.find_descendants(package) | {package}}
    circles = sorted(
        (importer, imported)
        for importer in modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported in modules
        and imported != importer
        and graph.chain_exists(importer=imported, imported=importer)
    )
    assert circles == []
