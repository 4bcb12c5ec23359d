"""The monitoring database as the package uses it: the store, and the default dataset.

``store`` is storage only and imports nothing above it; this module adds the one rule that
needs content: the default database (``settings.default_db_path()``) is filled with the
embedded default dataset (``wuwei_analysis.defaults``) when it is created. Any other new
path starts empty unless asked (``open_db(path, load_defaults=True)`` or ``init_db``).

Everything that reads the default database — ``wa.observations``, the models, briefs, app
and the ``wuwei`` command — opens it here; the readers below are ``store``'s, opened here:

    observations, latest_year, revisions, submissions, rejections, db_info, export

Layer: above ``store`` and ``defaults``, below models / assessment / briefs / app / CLI.
"""
from __future__ import annotations

import functools
import os
import sqlite3
from contextlib import AbstractContextManager as ContextManager
from pathlib import Path
from typing import Callable, TypeVar

from . import settings, store

F = TypeVar("F", bound=Callable)


DECLINED = "declined"
"""``meta.defaults_loaded`` of a database created with ``init_db(with_defaults=False)``: the
default dataset is not loaded into it behind the user's back."""


def is_default(path: str | os.PathLike | None) -> bool:
    """True for None and for the path ``settings.default_db_path()`` names."""
    if path is None:
        return True
    try:
        return Path(path).expanduser().resolve() == settings.default_db_path().resolve()
    except OSError:
        return False


def load_default_dataset(conn: sqlite3.Connection) -> dict:
    """Load (or top up) the embedded default dataset; see ``wuwei_analysis.defaults``.

    Idempotent: a built-in dataset whose content is already stored is skipped, and values
    equal to the stored ones add nothing.
    """
    from .defaults import load_defaults

    with store.transaction(conn):
        summary = load_defaults(conn)
        store.set_meta(conn, "defaults_loaded", store.now_iso())
    return summary


def open_db(path: str | os.PathLike | None = None, *, load_defaults: bool | None = None
            ) -> sqlite3.Connection:
    """打开监测数据库 — ``store.open_db``, filling a new database with the default dataset.

    Args:
        path: the SQLite file; None means the default database.
        load_defaults: load the embedded default dataset when the database is new. None
            (the default) means: only for the default path.

    Returns:
        A sqlite3 connection (see :func:`wuwei_analysis.store.open_db`); close it when done.
    """
    want = is_default(path) if load_defaults is None else bool(load_defaults)
    conn = store.open_db(path, on_create=load_default_dataset if want else None)
    if want and is_default(path) and store.get_meta(conn, "defaults_loaded") == "":
        # The default database was created by a lower-level call (``store.open_db``
        # opens without the dataset) and never filled: fill it now, once.
        try:
            load_default_dataset(conn)
        except BaseException:
            conn.close()
            raise
    return conn


def init_db(path: str | os.PathLike | None = None, *, with_defaults: bool = True) -> Path:
    """Create (or migrate) the database at ``path`` and, if asked, load the default dataset.

    On an existing database whose defaults were never loaded, ``with_defaults=True`` loads
    them now. Returns the database path.
    """
    p = Path(path).expanduser() if path is not None else settings.default_db_path()
    conn = store.open_db(p, on_create=load_default_dataset if with_defaults else None)
    try:
        loaded = store.get_meta(conn, "defaults_loaded")
        if with_defaults and loaded in ("", DECLINED, None):
            load_default_dataset(conn)
        elif not with_defaults and loaded == "":
            store.set_meta(conn, "defaults_loaded", DECLINED)
    finally:
        conn.close()
    return p


def connect(db: "str | os.PathLike | sqlite3.Connection | None" = None
            ) -> "ContextManager[sqlite3.Connection]":
    """``store.connect``, opening paths with :func:`open_db` (a new default database is
    filled with the default dataset)."""
    return store.connect(db, opener=open_db)


def opened_here(read: F) -> F:
    """``read(..., db=...)`` with ``db`` opened by :func:`connect`."""
    @functools.wraps(read)
    def wrapper(*args, db: "str | os.PathLike | sqlite3.Connection | None" = None, **kwargs):
        with connect(db) as conn:
            return read(*args, db=conn, **kwargs)
    return wrapper  # type: ignore[return-value]


def _db_only(read: F) -> F:
    """``read(db)`` (db its one argument) with ``db`` opened by :func:`connect`."""
    @functools.wraps(read)
    def wrapper(db: "str | os.PathLike | sqlite3.Connection | None" = None):
        with connect(db) as conn:
            return read(conn)
    return wrapper  # type: ignore[return-value]


observations = opened_here(store.observations)
revisions = opened_here(store.revisions)
rejections = opened_here(store.rejections)
export = opened_here(store.export)
latest_year = _db_only(store.latest_year)
submissions = _db_only(store.submissions)
db_info = _db_only(store.db_info)
