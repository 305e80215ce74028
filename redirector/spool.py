"""The click spool: clicks the redirect answered while Redis was unreachable,
kept on local disk until Redis answers again, then replayed into it once.

A click is spooled only for a link the worker redirected recently (the
redirect's per-process cache), and it is answered only once its line is on
disk: one JSON line per click, written with one ``os.write`` on an
``O_APPEND`` descriptor and ``fsync``'d before the 302 goes out, so a click
that was answered survives the worker dying. Threads that spool at the same
moment share one ``fsync`` (group commit).

Files, in the spool directory (``REDIRECTOR_SPOOL_DIR``, one subdirectory per
store so that two deployments sharing a disk never replay into each other):

- ``clicks-<pid>-<random>.jsonl``: a process's own file. It is created under a
  hidden name, locked (``flock``) and only then renamed into view, and the
  lock is held for as long as the process writes to it. The pid is there for
  people; whether the writer is alive is told by the lock, which the kernel
  drops when the process dies (pids are reused, in containers at once).
- ``<that name>.replaying``: a file claimed for replay. Any process that
  can take a file's lock claims it by renaming it (atomic), replays it
  (``BATCH`` clicks per round trip) and deletes it. A claimed file whose
  replayer died is taken over by the next one that can lock it.
- ``failed-<pid>.jsonl``: lines the store refused for a reason other than
  being away (kept for a person to look at; the log says so).

Replay is exactly once because the click script is idempotent per click id
(``clicks.CLICK``): a line replayed twice, or a click whose first attempt did
reach Redis before the connection broke, counts nothing the second time.

Each process runs one daemon thread, started on its first spooled click and at
start when spool files exist (a dead process's included). Every ``interval``
seconds, once the store answers, it closes its own file and replays every file
no live process holds; it ends when none is left.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .errors import StoreUnavailable
from .ids import random_id

log = logging.getLogger("redirector")

PREFIX = "clicks-"
SUFFIX = ".jsonl"
CLAIMED = ".replaying"
BATCH = 200  # spooled clicks replayed per round trip
_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def store_directory(base: Path, redis_url: str | None, cluster_url: str | None) -> Path:
    """The spool directory of one store: ``base/<scheme>-<host>-<port>-<db>``
    (credentials left out, so a rotated password keeps the same directory)."""
    url = cluster_url or redis_url or ""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        where = [parts.path, parse_qs(parts.query).get("db", ["0"])[0]]
    else:
        db = parts.path.strip("/") or "0"
        where = [parts.hostname or "", str(parts.port or 6379)]
        if not cluster_url:
            where.append(db)
    kind = "cluster" if cluster_url else parts.scheme or "redis"
    slug = "-".join(_SLUG_UNSAFE.sub("_", w).strip("_") for w in [kind, *where])
    return base / slug


class Spool:
    """One process's spool writer and replayer over a shared directory.

    ``replay(records)`` records a batch of spooled clicks and answers what
    became of each (``"counted"``, ``"already recorded"``, ...); it raises
    ``StoreUnavailable`` when the store is away again. ``available()``
    answers whether the store answers now."""

    def __init__(
        self,
        directory: Path,
        *,
        replay: Callable[[list[dict[str, Any]]], list[str]],
        available: Callable[[], bool],
        interval: float = 0.5,
    ) -> None:
        self.directory = directory
        self.replay = replay
        self.available = available
        self.interval = interval
        self._reset()

    def _reset(self) -> None:
        """Fresh state: at start, and in a child after a fork (locks, the file
        and the thread belong to the parent)."""
        self._pid = os.getpid()
        self._sync_lock = threading.Lock()  # taken before _lock, never after
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._path: Path | None = None
        self._torn = False  # the last write to the file stopped short
        self._written = 0  # lines written, over every file of this process
        self._synced = 0  # lines known to be on disk
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()

    # -- writing ----------------------------------------------------------------

    def append(self, record: dict[str, Any]) -> None:
        """Write one record; when this returns it is on disk. Raises ``OSError``
        (the click must then not be answered as accepted)."""
        if self._pid != os.getpid():
            self._reset()
        line = json.dumps(record, separators=(",", ":")).encode() + b"\n"
        with self._lock:
            if self._fd is None:
                self._open()
            assert self._fd is not None
            # After a short write the file ends inside a line: start on a new
            # one, so the torn line (never answered) is the only one lost.
            data = b"\n" + line if self._torn else line
            written = os.write(self._fd, data)
            if written != len(data):
                self._torn = True
                raise OSError(errno.ENOSPC, f"short write to the spool file {self._path}")
            self._torn = False
            self._written += 1
            mine = self._written
        self._sync(mine)
        self.wake()

    def _sync(self, mine: int) -> None:
        with self._sync_lock:
            if self._synced >= mine:
                return  # another thread's fsync covered this line
            target = self._written  # every line counted there is written already
            assert self._fd is not None  # only _release closes it, and it syncs first
            os.fsync(self._fd)
            self._synced = target

    def _open(self) -> None:
        """A new file of this process, locked before anyone can see it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{PREFIX}{os.getpid()}-{random_id(8)}{SUFFIX}"
        hidden = self.directory / f".{name}.new"
        fd = os.open(
            hidden, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(hidden, self.directory / name)
            _sync_directory(self.directory)
        except OSError:
            os.close(fd)
            raise
        self._fd, self._path, self._torn = fd, self.directory / name, False
        log.warning(
            "the store is unreachable: answering recently seen links and spooling their "
            "clicks to %s until it returns",
            self._path,
        )

    def _release(self) -> None:
        """Close this process's file, so that it can be claimed and replayed;
        the next spooled click starts a new one."""
        with self._sync_lock, self._lock:
            if self._fd is None:
                return
            os.fsync(self._fd)  # for the lines whose writers wait on _sync_lock
            self._synced = self._written
            os.close(self._fd)
            self._fd = self._path = None

    # -- replaying ----------------------------------------------------------------

    def pending(self) -> list[Path]:
        """Every spool file in the directory, claimed or not, in name order."""
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        return [
            self.directory / n
            for n in sorted(names)
            if n.startswith(PREFIX) and (n.endswith(SUFFIX) or n.endswith(SUFFIX + CLAIMED))
        ]

    def start_if_pending(self) -> None:
        """At start: replay what earlier processes left behind."""
        if self.pending():
            self.wake()

    def wake(self) -> None:
        """Make sure the replay thread runs."""
        if self._pid != os.getpid():
            self._reset()
        with self._thread_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, name="redirector-spool", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            try:
                more = self.replay_pending()
            except Exception:
                log.exception("replaying the click spool failed; trying again")
                more = True
            if more:
                continue
            with self._thread_lock:
                # Checked again under the lock: a click spooled from here on
                # finds no thread and starts one.
                if self._fd is None:
                    self._thread = None
                    return

    def replay_pending(self) -> bool:
        """One pass: replay every spool file no live process holds. Answers
        whether this process still has work (its own file, or a store away)."""
        if self._fd is None and not self.pending():
            return False
        if not self.available():
            return True
        self._release()
        for path in self.pending():
            claim = _claim(path)
            if claim is None:
                continue  # a live process writes it, or another one replays it
            fd, claimed = claim
            try:
                if not self._replay_file(fd, claimed):
                    return True  # the store went away again
            finally:
                os.close(fd)
        return self._fd is not None

    def _replay_file(self, fd: int, path: Path) -> bool:
        """Replay every line of a claimed file, then delete it. False if the
        store went away (the file stays claimed but unlocked, for a next pass;
        the lines replayed already count nothing then)."""
        outcomes: Counter[str] = Counter()
        lines: list[tuple[bytes, dict[str, Any]]] = []
        for raw in _read_all(fd).split(b"\n"):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
                if not isinstance(record, dict):
                    raise ValueError("not an object")
            except ValueError:
                # A line cut short by a process dying in the middle of writing
                # it: that click was never answered.
                outcomes["unreadable"] += 1
                continue
            lines.append((raw, record))
        for start in range(0, len(lines), BATCH):
            batch = lines[start : start + BATCH]
            try:
                outcomes.update(self.replay([record for _, record in batch]))
            except StoreUnavailable:
                log.info("the store went away while replaying %s; will try again", path.name)
                return False
            except Exception:
                # Some line the store refuses: one by one, to keep that line aside
                # (those of the batch recorded already count nothing again).
                for raw, record in batch:
                    try:
                        outcomes.update(self.replay([record]))
                    except StoreUnavailable:
                        return False
                    except Exception:
                        outcomes["failed"] += 1
                        self._keep_failed(raw)
                        log.exception("a spooled click was refused; kept in %s", self.directory)
        os.unlink(path)
        _sync_directory(self.directory)
        log.info(
            "replayed %s: %s",
            path.name,
            ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items())) or "empty",
        )
        return True

    def _keep_failed(self, raw: bytes) -> None:
        path = self.directory / f"failed-{os.getpid()}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, raw + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)


def _claim(path: Path) -> tuple[int, Path] | None:
    """Lock a spool file and rename it ``*.replaying``; None if a live process
    holds it (its writer, or a replayer) or it is gone."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        stat = os.fstat(fd)
        if stat.st_nlink == 0 or os.stat(path).st_ino != stat.st_ino:
            raise FileNotFoundError(path)  # replayed and deleted, or renamed, meanwhile
        if path.name.endswith(CLAIMED):
            return fd, path  # its replayer died: take it over
        claimed = path.with_name(path.name + CLAIMED)
        os.rename(path, claimed)
        return fd, claimed
    except (BlockingIOError, FileNotFoundError):
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _sync_directory(directory: Path) -> None:
    """Make a file's creation, rename or removal itself durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
