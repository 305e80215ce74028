"""The click spool: clicks the redirect answered while Redis was unreachable,
kept on local disk until Redis answers again, then replayed into it once.

The spool trusts nothing it did not write itself. Its directory is private to
the service's user (``private_directory``: mode 0700, owned by that user, no
permission for anyone else, checked once at start) and its files are 0600.
Each line carries a MAC (``LineSigner``): the newest secret key signs, every
configured key verifies, so a spool outlives a key put in front. A line no key
authenticates, an earlier version's unsigned line included, is set aside with a
warning, never counted.

A click is spooled only for a link the worker redirected recently (the
redirect's per-process cache), and it is answered only once its line is on
disk: one line per click (its MAC, a space, its JSON), written with one ``os.write`` on an
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
- ``rejected-<pid>.jsonl``: lines no configured key authenticates (planted,
  edited, or unsigned by an earlier version); kept for a person, never replayed.

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
import hashlib
import hmac
import json
import logging
import os
import re
import stat
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import StoreUnavailable
from .ids import random_id

__all__ = [
    "BATCH",
    "MAC_PURPOSE",
    "LineRejected",
    "LineSigner",
    "NotPrivate",
    "Spool",
    "adopt",
    "not_private",
    "private_directory",
    "store_directory",
]

log = logging.getLogger("redirector")

PREFIX = "clicks-"
SUFFIX = ".jsonl"
CLAIMED = ".replaying"
BATCH = 200  # spooled clicks replayed per round trip
_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAC_PURPOSE = b"redirector.spool.v1"  # a key of its own: never a link or device signature
MAC_HEX = 32  # HMAC-SHA256 cut to 128 bits, in hex


# -- the directory: private to the service's user ----------------------------------------


class NotPrivate(Exception):
    """The spool directory is not the service's alone; the message says why."""


def not_private(status: os.stat_result, uid: int) -> str | None:
    """How a directory with ``status`` is not private to the user ``uid``, or None.

    The rule: a directory (not a link to one), owned by the service's user, with
    no permission at all for its group or others: not writable (a line planted
    there would be replayed) and not readable either (clicks hold hashed IPs
    and device ids)."""
    mode = stat.S_IMODE(status.st_mode)
    if not stat.S_ISDIR(status.st_mode):
        return "is not a directory"
    if status.st_uid != uid:
        return f"is owned by uid {status.st_uid}, not by the service's user (uid {uid})"
    if mode & 0o077:
        return f"is open to other users (mode {mode:04o}; chmod 700 it, or name another)"
    if mode & 0o700 != 0o700:
        return f"is not writable by its owner (mode {mode:04o})"
    return None


def private_directory(path: Path) -> None:
    """Create ``path`` with mode 0700 (missing parents with the default mode),
    or check the one there; raises ``NotPrivate``. Run once at start."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        status = os.lstat(path)
    except OSError as exc:
        raise NotPrivate(f"cannot be made ({exc.strerror})") from None
    why = not_private(status, os.geteuid())
    if why:
        raise NotPrivate(why)


# -- the lines: each with a MAC ------------------------------------------------------------


class LineRejected(Exception):
    """A spool line no configured key authenticates; ``reason`` says how it failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _mac_key(secret_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=MAC_PURPOSE).derive(
        secret_key.encode()
    )


class LineSigner:
    """MACs of spool lines, under keys derived from the secret keys (newest
    first, as configured): the newest signs, every one verifies. A line is
    ``<MAC> <payload>``, the MAC over the payload's bytes."""

    def __init__(self, secret_keys: Sequence[str]) -> None:
        if not secret_keys:
            raise ValueError("the spool needs a secret key to sign its lines")
        # Keyed once: each line only copies a prepared HMAC.
        self._macs = [hmac.new(_mac_key(k), digestmod=hashlib.sha256) for k in secret_keys]

    def _mac(self, prepared: Any, payload: bytes) -> bytes:
        mac = prepared.copy()
        mac.update(payload)
        return mac.hexdigest()[:MAC_HEX].encode()

    def sign(self, payload: bytes) -> bytes:
        return self._mac(self._macs[0], payload) + b" " + payload

    def open(self, line: bytes) -> bytes:
        """The payload of a line some key authenticates; raises ``LineRejected``."""
        if line.startswith(b"{"):
            raise LineRejected("unsigned")  # an earlier version's form, or anyone's
        mac, space, payload = line.partition(b" ")
        if not space:
            raise LineRejected("malformed")
        if any(hmac.compare_digest(self._mac(m, payload), mac) for m in self._macs):
            return payload
        raise LineRejected("bad MAC")


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
        secret_keys: Sequence[str],
        interval: float = 0.5,
    ) -> None:
        self.directory = directory
        self.signer = LineSigner(secret_keys)
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
        line = self.signer.sign(json.dumps(record, separators=(",", ":")).encode()) + b"\n"
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
        # Made (private) and checked at start; made again if removed since.
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
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
        # Also reached by clicks too few replicas confirmed (``click_batches``).
        log.warning(
            "spooling clicks to %s until the store takes them (it is unreachable, or "
            "fewer replicas than REDIRECTOR_CLICK_REPLICAS confirmed them)",
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
        lines = self._read_lines(fd, path, outcomes)
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
                        self._keep("failed", [raw])
                        log.exception("a spooled click was refused; kept in %s", self.directory)
        os.unlink(path)
        _sync_directory(self.directory)
        log.info(
            "replayed %s: %s",
            path.name,
            ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items())) or "empty",
        )
        return True

    def _read_lines(
        self, fd: int, path: Path, outcomes: Counter[str]
    ) -> list[tuple[bytes, dict[str, Any]]]:
        """The clicks of a claimed file that a key authenticates; any other
        line is set aside in ``rejected-<pid>.jsonl``, with one warning."""
        *complete, rest = _read_all(fd).split(b"\n")
        if rest.strip():
            # A line cut short by a process dying in the middle of writing it
            # (it ends the file): that click was never answered.
            outcomes["unreadable"] += 1
        lines: list[tuple[bytes, dict[str, Any]]] = []
        rejected: list[bytes] = []
        reasons: Counter[str] = Counter()
        for raw in complete:
            if not raw.strip():
                continue
            try:
                record = json.loads(self.signer.open(raw))
                if not isinstance(record, dict):
                    raise LineRejected("not an object")
            except (LineRejected, ValueError) as exc:
                rejected.append(raw)
                reasons[exc.reason if isinstance(exc, LineRejected) else "not JSON"] += 1
                continue
            lines.append((raw, record))
        if rejected:
            kept = self._keep("rejected", rejected)
            outcomes["set aside"] += len(rejected)
            log.warning(
                "set aside %d spooled line(s) of %s that no secret key authenticates (%s); "
                "not counted, kept in %s",
                len(rejected),
                path.name,
                ", ".join(f"{n} {why}" for why, n in sorted(reasons.items())),
                kept,
            )
        return lines

    def _keep(self, kind: str, raws: list[bytes]) -> Path:
        """Append lines to this process's ``<kind>-<pid>.jsonl``, for a person."""
        path = self.directory / f"{kind}-{os.getpid()}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, b"".join(raw + b"\n" for raw in raws))
            os.fsync(fd)
        finally:
            os.close(fd)
        return path


def adopt(source: Path, directory: Path, signer: LineSigner) -> tuple[Path, int]:
    """Sign the clicks of ``source`` into a new spool file in ``directory``, for
    a person who trusts them: an earlier version's unsigned file, or lines set
    aside in ``rejected-*.jsonl`` (their old MAC is dropped). Answers the new
    file and its line count; raises ``ValueError`` naming a line that is not a
    JSON object (nothing is written then)."""
    signed = []
    for number, raw in enumerate(source.read_bytes().split(b"\n"), start=1):
        if not raw.strip():
            continue
        payload = raw if raw.startswith(b"{") else raw.partition(b" ")[2]
        try:
            if not isinstance(json.loads(payload), dict):
                raise ValueError
        except ValueError:
            raise ValueError(f"{source}, line {number}: not a spooled click") from None
        signed.append(signer.sign(payload) + b"\n")
    name = f"{PREFIX}adopted-{random_id(8)}{SUFFIX}"
    hidden = directory / f".{name}.new"
    fd = os.open(hidden, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, b"".join(signed))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(hidden, directory / name)  # whole, or not there: a replayer may claim it at once
    _sync_directory(directory)
    return directory / name, len(signed)


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
