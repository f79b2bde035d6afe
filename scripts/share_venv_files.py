"""Hard-link the files two of the project's virtualenvs hold byte for byte (scripts/setup.sh runs it).

Each ComfyUI gets its own virtualenv (.venv, .venv-0.33.0, ...), and each holds its own copy of torch 2.11 (4.7 GB).
A file is shared only when it has the same path inside site-packages, the same size and the same bytes; pip
replaces files by removing and writing them, never in place, so a later install in one virtualenv leaves the
other's copy alone. Where hard links are not possible (another file system), nothing changes.

    python scripts/share_venv_files.py VENV [VENV ...]   prints how much it saved
"""
from __future__ import annotations

import filecmp
import glob
import os
import sys

MIN_BYTES = 1 << 16     # smaller files are not worth a comparison


def site_packages(venv: str) -> str | None:
    found = glob.glob(os.path.join(venv, "lib", "python*", "site-packages"))
    return found[0] if found else None


def share(keep: str, other: str) -> int:
    """Replace each large file under `other` that equals the one at the same relative path under `keep` by a hard
    link to it; returns the bytes freed."""
    freed = 0
    for folder, _, files in os.walk(other):
        for name in files:
            b = os.path.join(folder, name)
            a = os.path.join(keep, os.path.relpath(b, other))
            try:
                sa, sb = os.lstat(a), os.lstat(b)
            except OSError:
                continue
            if (not os.path.isfile(b) or os.path.islink(a) or os.path.islink(b) or sa.st_size != sb.st_size
                    or sb.st_size < MIN_BYTES or (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)):
                continue
            if not filecmp.cmp(a, b, shallow=False):
                continue
            tmp = b + ".vidlift-link"
            try:
                os.link(a, tmp)
                os.replace(tmp, b)
            except OSError:
                if os.path.lexists(tmp):
                    os.remove(tmp)
                return freed            # no hard links here: leave everything as it is
            freed += sb.st_size
    return freed


def main(venvs: list[str]) -> None:
    sites = [s for s in (site_packages(v) for v in venvs if os.path.isdir(v)) if s]
    freed = sum(share(sites[0], s) for s in sites[1:])
    if freed:
        print(f"[setup] {len(sites)} virtualenvs share {freed / 1e9:.1f} GB of identical files (hard links)")


if __name__ == "__main__":
    main(sys.argv[1:])
