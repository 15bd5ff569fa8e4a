"""python -m deploy [--app-dir DIR] [--list | --out FILE]"""

from __future__ import annotations

import argparse
from pathlib import Path

from deploy import build_zip, package_files


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__)
    parser.add_argument("--app-dir", type=Path, default=Path(__file__).resolve().parent.parent)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--list", action="store_true", help="print the files the package holds")
    what.add_argument("--out", type=Path, help="write the package as a zip")
    args = parser.parse_args()
    files = package_files(args.app_dir) if args.list else build_zip(args.app_dir, args.out)
    print("\n".join(files))
    if args.out:
        print(f"{len(files)} files in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
