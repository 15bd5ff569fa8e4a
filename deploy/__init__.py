"""The deployment package, built as `func azure functionapp publish` builds it: every file of the
app directory that .funcignore does not exclude (gitignore rules), zipped with paths relative to
the app root. Azure then installs requirements.txt (remote build).

    python -m deploy --list           # what would be published
    python -m deploy --out app.zip    # the zip (for az functionapp deployment source config-zip)
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pathspec

IGNORE_FILE = ".funcignore"


def package_files(app_dir: Path) -> list[str]:
    """The app's files that go into the package, as sorted POSIX paths."""
    ignore = app_dir / IGNORE_FILE
    lines = ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else []
    spec = pathspec.GitIgnoreSpec.from_lines([*lines, IGNORE_FILE])
    files = (p.relative_to(app_dir).as_posix() for p in app_dir.rglob("*") if p.is_file())
    return sorted(path for path in files if not spec.match_file(path))


def build_zip(app_dir: Path, out: Path) -> list[str]:
    """Write the package to `out`; returns what it holds."""
    files = package_files(app_dir)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(app_dir / path, path)
    return files
