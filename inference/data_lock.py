"""One process per data directory: the jobs' SQLite database and their workers belong to the process that holds
the directory's lock file (``.lock``, an ``flock`` the system drops when the process dies, even by SIGKILL).

A second ``python app.py`` on the same directory refuses to start (it would read the same jobs alongside the
first, or take them away from it). Within one process the lock is shared (several services in one test process).
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from .errors import ConfigError

_held: dict[str, int] = {}  # realpath -> fd, for this process's lifetime
_lock = threading.Lock()


def hold(folder: Path) -> None:
    """Take ``folder``'s lock for this process, or :class:`ConfigError` saying what to do when another holds it."""
    key = os.path.realpath(folder)
    with _lock:
        if key in _held:
            return
        fd = os.open(os.path.join(key, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise ConfigError(
                f"The data directory {key} is in use by another server (process {holder}). Run a second server "
                "with another data directory (CHATVLM_DATA_DIR=... or server.data_dir), or run several replicas "
                "over shared jobs with jobs.broker_url and jobs.database_url (see README, Growing past one machine)."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        _held[key] = fd
