"""Deployment packages given as a file (`CodeUri: target/app.jar`, `build/fn.zip`): Lambda
extracts the zip (a jar is one) into /var/task, so faaslab does too, once per content.

The extracted tree lives in a cache directory named by the archive's SHA-256, so restarts
reuse it and a rebuilt jar gets a fresh one; the sandbox binds it read-only at /var/task,
as it does a CodeUri directory.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

ARCHIVE_SUFFIXES = (".jar", ".zip")


class PackageError(Exception):
    """The archive cannot be used as code (not a zip, or an entry escapes the directory)."""


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "faaslab" / "packages"


def is_archive(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in ARCHIVE_SUFFIXES


def unpack(archive: Path, root: Path | None = None) -> Path:
    """The directory holding `archive`'s files (extracted now if not already)."""
    h = hashlib.sha256()
    with open(archive, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    root = root or cache_root()
    target = root / h.hexdigest()[:24]
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=".unpacking-"))
    try:
        try:
            with zipfile.ZipFile(archive) as z:
                for info in z.infolist():
                    dest = (tmp / info.filename).resolve()
                    if tmp.resolve() not in dest.parents and dest != tmp.resolve():
                        raise PackageError(f"{archive}: entry {info.filename!r} leaves the package")
                    z.extract(info, tmp)
        except zipfile.BadZipFile as e:
            raise PackageError(f"{archive}: not a zip or jar file ({e})") from None
        # Lambda's files are readable by the function's user whatever the zip said.
        for dirpath, _dirnames, filenames in os.walk(tmp):
            os.chmod(dirpath, 0o755)
            for name in filenames:
                p = os.path.join(dirpath, name)
                mode = os.stat(p).st_mode
                os.chmod(p, 0o755 if mode & stat.S_IXUSR else 0o644)
        try:
            tmp.rename(target)
        except OSError:  # another process unpacked the same archive first
            if not target.is_dir():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
