"""A disk cache shared by the app's kernels: one file per (region, indicator) result.

Assessing an indicator (trend model chosen by rolling back-tests, forecast, status) takes
0.1–0.3 s, so a region takes tens of seconds; every Voila visitor gets a fresh kernel. The
first kernel that computes a result stores it here and every later kernel loads it in a
millisecond. Entries live under ``<WUWEI_HOME>/cache/app/<fingerprint>/``; the fingerprint
covers the database's content (row counts, last ids and record times) and the code and
catalogue that produce results, so new data or a new model version never reads a stale
entry. Files are written atomically; a kernel that starts computing an entry "claims" it
(an exclusive lock file, ignored after ``STALE_CLAIM_S``) so two kernels warming at the same
time do not duplicate the work.
"""
from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from ..settings import PACKAGE_DIR, home

log = logging.getLogger(__name__)

#: Bump when the format of a cached entry changes.
CACHE_VERSION = "1"
STALE_CLAIM_S = 120.0
#: Sources whose change invalidates cached results.
_CODE_GLOBS = ("assess.py", "assessment.py", "assessment/*.py", "targets.py", "indicator_catalog.py",
               "models/*.py", "engine/*.py", "vocab/*.py", "app/data.py", "app/cache.py",
               "data/catalog/*.yaml", "data/calibration/*",
               "data/units.yaml", "data/regions.yaml")


def code_fingerprint() -> str:
    h = hashlib.sha256(CACHE_VERSION.encode())
    for pattern in _CODE_GLOBS:
        for p in sorted(PACKAGE_DIR.glob(pattern)):
            h.update(str(p.relative_to(PACKAGE_DIR)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def db_fingerprint(db_path: str | os.PathLike) -> str | None:
    """A hash of the database's content markers, or None if it cannot be read."""
    p = Path(db_path)
    if not p.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=10)
        try:
            obs = conn.execute("SELECT COUNT(*), MAX(id), MAX(recorded_at) FROM observations"
                               ).fetchone()
            sub = conn.execute("SELECT COUNT(*), MAX(id) FROM submissions").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    marker = f"{p.resolve()}|{obs}|{sub}"
    return hashlib.sha256(marker.encode()).hexdigest()[:16]


def prune(base: Path, keep: Path, *, max_age_s: float = 86400.0, keep_n: int = 3) -> None:
    """Remove cache folders of older data or code: all but the ``keep_n`` most recent, and
    only those untouched for ``max_age_s`` (a kernel may still be reading a recent one)."""
    import shutil

    try:
        dirs = sorted((d for d in base.iterdir() if d.is_dir() and d != keep),
                      key=lambda d: d.stat().st_mtime, reverse=True)
    except OSError:
        return
    now = time.time()
    for d in dirs[keep_n:]:
        try:
            if now - d.stat().st_mtime > max_age_s:
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass


class DiskCache:
    """Pickled entries in one folder; every method fails soft (a cache, not a store)."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        if root is not None:
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError:
                log.warning("app cache disabled: cannot create %s", root)
                self.root = None

    @classmethod
    def for_db(cls, db_path: str | os.PathLike, base: Path | None = None) -> "DiskCache":
        fp = db_fingerprint(db_path)
        if fp is None:
            return cls(None)
        base = base if base is not None else home() / "cache" / "app"
        cache = cls(base / f"{fp}-{code_fingerprint()}")
        if cache.root is not None:
            prune(base, keep=cache.root)
        return cache

    @property
    def enabled(self) -> bool:
        return self.root is not None

    def _path(self, name: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
        return self.root / f"{safe}.pkl"  # type: ignore[operator]

    def get(self, name: str) -> Any | None:
        if self.root is None:
            return None
        p = self._path(name)
        try:
            with open(p, "rb") as fh:
                return pickle.load(fh)
        except FileNotFoundError:
            return None
        except Exception:  # a damaged entry is recomputed
            log.warning("unreadable cache entry %s", p)
            return None

    def has(self, name: str) -> bool:
        return self.root is not None and self._path(name).exists()

    def put(self, name: str, value: Any) -> None:
        if self.root is None:
            return
        p = self._path(name)
        tmp = p.with_name(f".{p.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with open(tmp, "wb") as fh:
                pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, p)
        except Exception:
            log.warning("cannot write cache entry %s", p)
            tmp.unlink(missing_ok=True)
        finally:
            self.release(name)

    def claim(self, name: str) -> bool:
        """True if this process may compute ``name`` (nobody else is, or their claim is stale)."""
        if self.root is None:
            return True
        lock = self._path(name).with_suffix(".lock")
        for _ in range(2):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                return True
            except FileExistsError:
                try:
                    if time.time() - lock.stat().st_mtime < STALE_CLAIM_S:
                        return False
                    lock.unlink(missing_ok=True)
                except OSError:
                    return False
            except OSError:
                return True
        return False

    def release(self, name: str) -> None:
        if self.root is not None:
            try:
                self._path(name).with_suffix(".lock").unlink(missing_ok=True)
            except OSError:
                pass
