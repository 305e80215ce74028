"""The spool trusts only what the service wrote (issue 14, item 8).

A local user on the host could plant a spool file whose clicks were counted on
restart. Now the spool's directory is private to the service's user (made
0700, or the service refuses to start on it), its files are 0600, and every
line carries a MAC under a key derived from the secret keys: a line no key
authenticates is set aside with a warning and never counted.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import redirector.cli
from redirector import clicks, create_app, spool
from redirector.config import Settings
from redirector.errors import ConfigError

from .conftest import SECRET_KEYS, Api
from .servers import wait_until

KEYS = tuple(SECRET_KEYS.split(","))  # newest first
NEW_KEY = "test-signing-key-added-later-0123456789"
STRANGER_KEY = "a-key-this-service-never-had-0123456789"
REDIS = "redis://127.0.0.1:1/0"  # never reached: the tests pass their own store


def line(record: dict[str, Any], keys: tuple[str, ...] = KEYS) -> bytes:
    """A spool line as the spool writes it under ``keys``."""
    return spool.LineSigner(keys).sign(json.dumps(record, separators=(",", ":")).encode()) + b"\n"


class Counting:
    """A store stand-in for the spool: counts the click ids it is sent."""

    def __init__(self) -> None:
        self.counted: list[str] = []

    def replay(self, batch: list[dict[str, Any]]) -> list[str]:
        self.counted += [c["click_id"] for c in batch]
        return ["counted"] * len(batch)


def reader(directory: Path, store: Counting, keys: tuple[str, ...] = KEYS) -> spool.Spool:
    return spool.Spool(
        directory, replay=store.replay, available=lambda: True, secret_keys=keys, interval=3600
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def private_env(spool_dir: Path) -> dict[str, str]:
    return {"REDIS_URL": REDIS, "REDIRECTOR_SECRET_KEYS": SECRET_KEYS,
            "REDIRECTOR_SPOOL_DIR": str(spool_dir)}  # fmt: skip


# -- lines: only those a key authenticates count -------------------------------------------


def test_planted_lines_are_set_aside_and_logged_while_a_genuine_one_counts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    genuine = line({"click_id": "genuine", "bot": False})
    edited = genuine.replace(b'"bot":false', b'"bot":true')  # the MAC kept, the JSON changed
    planted = [
        b'{"click_id":"unsigned","bot":false}\n',  # the previous version's form
        line({"click_id": "stranger"}, (STRANGER_KEY,)),  # a MAC under a key we never had
        b"0" * 32 + b' {"click_id":"zeros"}\n',  # a MAC-shaped guess
        edited,
    ]
    (tmp_path / "clicks-4242-planted.jsonl").write_bytes(
        b"".join([*planted[:2], genuine, *planted[2:]])
    )
    store = Counting()

    with caplog.at_level(logging.INFO, logger="redirector"):
        assert reader(tmp_path, store).replay_pending() is False

    assert store.counted == ["genuine"]
    rejected = tmp_path / f"rejected-{os.getpid()}.jsonl"
    assert sorted(p.name for p in tmp_path.iterdir()) == [rejected.name]
    assert rejected.read_bytes() == b"".join(planted)
    assert mode(rejected) == 0o600
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "set aside 4 spooled line(s) of clicks-4242-planted.jsonl.replaying that no secret key "
        f"authenticates (3 bad MAC, 1 unsigned); not counted, kept in {rejected}"
    ]
    assert any("1 counted, 4 set aside" in r.getMessage() for r in caplog.records)


def test_a_planted_file_counts_nothing_on_restart(
    api: Api, store: Any, env: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    link = api.link(api.world()["alice"])
    at = 1_740_870_000_000
    settings = Settings.from_env({**env, "REDIS_URL": REDIS, "REDIRECTOR_SPOOL_DIR": str(tmp_path)})
    directory = spool.store_directory(tmp_path, REDIS, None)
    forged = [
        clicks.ClickFacts(link["id"], clicks.new_click_id(link["id"], at), at, f"dev{n:013d}",
                          f"{n:012x}", "ios", False, "weibo.com", "2025-03-02").to_spool()
        for n in range(50)
    ]  # fmt: skip
    body = b"".join(json.dumps(c, separators=(",", ":")).encode() + b"\n" for c in forged)
    (directory / "clicks-999999-deadbeef.jsonl").write_bytes(body)

    with caplog.at_level(logging.WARNING, logger="redirector"):
        create_app(settings, store=store)  # a process starting replays what it finds
        wait_until(
            lambda: (
                not (directory / "clicks-999999-deadbeef.jsonl.replaying").exists()
                and any("set aside" in r.getMessage() for r in caplog.records)
            ),
            timeout=10,
            what="the replay",
        )

    stats = api.ok("GET", f"/api/v1/links/{link['id']}")["stats"]
    print(f"\nplanted spool file: {stats['clicks']} of {len(forged)} clicks counted on restart")
    assert stats["clicks"] == 0
    assert all(clicks.get_click(store, c["click_id"]) is None for c in forged)
    assert [r.getMessage() for r in caplog.records if "set aside" in r.getMessage()] == [
        "set aside 50 spooled line(s) of clicks-999999-deadbeef.jsonl.replaying that no secret "
        f"key authenticates (50 unsigned); not counted, kept in {directory}/rejected-"
        f"{os.getpid()}.jsonl"
    ]


def test_a_spool_written_before_a_key_was_added_in_front_still_replays(tmp_path: Path) -> None:
    (tmp_path / "clicks-1-old.jsonl").write_bytes(line({"click_id": "before"}, KEYS))
    store = Counting()
    rotated = (NEW_KEY, *KEYS)

    assert reader(tmp_path, store, rotated).replay_pending() is False
    assert store.counted == ["before"]

    # And the newest key signs: the oldest can then be dropped without stranding it.
    writer = reader(tmp_path, Counting(), rotated)
    writer.append({"click_id": "after"})
    writer._release()
    assert reader(tmp_path, store, (NEW_KEY,)).replay_pending() is False
    assert store.counted == ["before", "after"]


# -- the directory: private to the service's user --------------------------------------------


def test_the_spool_directory_is_made_private_and_its_files_0600(tmp_path: Path) -> None:
    root = tmp_path / "var" / "redirector" / "spool"
    umask = os.umask(0o022)
    try:
        settings = Settings.from_env(private_env(root))
    finally:
        os.umask(umask)
    directory = spool.store_directory(settings.spool_dir, REDIS, None)

    assert (mode(root), mode(directory)) == (0o700, 0o700)
    assert (
        mode(tmp_path / "var") == mode(tmp_path / "var" / "redirector") == 0o755
    )  # parents as usual
    writer = reader(directory, Counting())
    writer.append({"click_id": "c1"})
    (own,) = directory.iterdir()
    assert mode(own) == 0o600


def _open_to_others(root: Path) -> Path:
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    return root


def _group_writable(root: Path) -> Path:
    root.mkdir()
    os.chmod(root, 0o770)
    return root


def _someone_elses(root: Path) -> Path:
    root.mkdir(mode=0o700)
    os.chown(root, 4242, 4242)
    return root


def _a_link_to_someone_elses(root: Path) -> Path:
    target = _someone_elses(root.with_name("elsewhere"))
    root.symlink_to(target)
    return target


def _store_directory_open_to_others(root: Path) -> Path:
    root.mkdir(mode=0o700)
    inner = spool.store_directory(root, REDIS, None)
    inner.mkdir()
    os.chmod(inner, 0o755)
    return inner


@pytest.mark.parametrize(
    "make",
    [
        _open_to_others,
        _group_writable,
        _someone_elses,
        _a_link_to_someone_elses,
        _store_directory_open_to_others,
    ],
)
def test_a_spool_directory_not_private_refuses_start_in_one_line(tmp_path: Path, make: Any) -> None:
    if make in (_someone_elses, _a_link_to_someone_elses) and os.geteuid() != 0:
        pytest.skip("giving a directory to another user takes root")
    root = tmp_path / "spool"
    offending = make(root)

    with pytest.raises(ConfigError) as caught:
        Settings.from_env(private_env(root))

    message = str(caught.value)
    assert message.startswith(f"REDIRECTOR_SPOOL_DIR: {offending} is ")
    assert "\n" not in message


def test_serve_stops_on_a_spool_directory_others_can_read(tmp_path: Path) -> None:
    root = _open_to_others(tmp_path / "spool")
    env = {**private_env(root), "REDIS_CLUSTER_URL": "", "REDIRECTOR_ADMIN_TOKEN": ""}

    result = CliRunner().invoke(redirector.cli.main, ["serve"], env=env)

    assert result.exit_code == 2
    assert result.output == (
        f"redirector: configuration error: REDIRECTOR_SPOOL_DIR: {root} is open to other "
        "users (mode 0755; chmod 700 it, or name another)\n"
    )


def test_an_operator_can_adopt_lines_they_trust_and_they_replay(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    env = {**private_env(root), "REDIS_CLUSTER_URL": "", "REDIRECTOR_ADMIN_TOKEN": ""}
    directory = spool.store_directory(Settings.from_env(env).spool_dir, REDIS, None)
    trusted = tmp_path / "rejected-1.jsonl"  # an old version's line, one under a dropped key
    trusted.write_bytes(b'{"click_id":"old"}\n' + line({"click_id": "dropped"}, (STRANGER_KEY,)))
    not_clicks = tmp_path / "notes.txt"
    not_clicks.write_text('{"click_id":"fine"}\nnot a click\n')
    runner = CliRunner()

    refused = runner.invoke(redirector.cli.main, ["spool-adopt", str(not_clicks)], env=env)
    adopted = runner.invoke(redirector.cli.main, ["spool-adopt", str(trusted)], env=env)

    assert refused.exit_code == 2
    assert refused.output == f"redirector: {not_clicks}, line 2: not a spooled click\n"
    assert adopted.exit_code == 0, adopted.output
    (written,) = directory.iterdir()
    assert (
        adopted.output
        == f"2 click(s) signed into {written}: replayed at the service's next start\n"
    )
    assert mode(written) == 0o600
    store = Counting()
    assert reader(directory, store).replay_pending() is False
    assert store.counted == ["old", "dropped"]
