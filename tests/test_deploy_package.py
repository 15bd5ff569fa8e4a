"""The deployment package holds the app and nothing of the local toolchain (.funcignore)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from deploy import build_zip

ROOT = Path(__file__).resolve().parent.parent
LOCAL_ONLY = ("tests/", "bench/", "graph_emulator/", "devhost/", "node_modules/", ".venv/")


def test_the_package_holds_the_app_and_none_of_the_local_toolchain(tmp_path: Path) -> None:
    out = tmp_path / "app.zip"
    build_zip(ROOT, out)
    names = zipfile.ZipFile(out).namelist()
    for required in ("function_app.py", "host.json", "requirements.txt", "rules.sample.toml"):
        assert required in names
    assert "reconciler/__init__.py" in names and "reconciler/rules/parser.py" in names
    assert [n for n in names if n.startswith(LOCAL_ONLY)] == []
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]
    assert "local.settings.json" not in names  # secrets stay local; app settings live in Azure
    # Every rules-file example the sample references travels with it.
    assert "examples/ana.json" in names
    # the console reads its templates and style sheet from the package at run time
    assert "reconciler/console/templates/base.html" in names
    assert "reconciler/console/static/console.css" in names
