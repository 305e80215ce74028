"""A weak admin token stops the service before it starts, with one line naming
the setting (and never the token); every token the suite, the benchmarks and
the README use is strong enough."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from redirector.config import Settings
from redirector.errors import ConfigError

from .conftest import ADMIN_TOKEN

WEAK = [
    "aaaaaaaaaaaaaaaa",  # the issue's: 16 characters, one distinct
    "short-but-mixed-42",  # mixed, but under 24 characters
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "abababababababababababab",
    "passwordpasswordpassword",
    "password1234password1234",
    "abcdefghijklmnopqrstuvwxyz",
    "abcdefghijklmnopqrstuvwxyz0123456789",
    "012345678901234567890123",
    "zyxwvutsrqponmlkjihgfedcba",
]
STRONG = [
    ADMIN_TOKEN,
    "operator-token-0123456789",  # tests/test_service.py
    "simulate-admin-token-0123456789",  # tests/test_simulate.py
    "bench-admin-token-0123456789",  # bench/redirect.py, bench/settlement.py
    "soak-admin-token-0123456789abcdef",  # bench/soak
    "admin-token-for-the-walkthrough",  # README
    "correct-horse-battery-staple",
    "f555065b5f096750f5b997b9",  # secrets.token_hex(12) with 7 distinct characters (CI)
]


@pytest.mark.parametrize("token", WEAK)
def test_a_weak_admin_token_is_refused_in_one_line_naming_the_setting(token: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"REDIRECTOR_ADMIN_TOKEN": token})
    message = str(caught.value)
    assert message.startswith("REDIRECTOR_ADMIN_TOKEN is ")
    assert "\n" not in message and token not in message


@pytest.mark.parametrize("token", STRONG)
def test_the_tokens_in_use_pass(token: str) -> None:
    assert Settings.from_env({"REDIRECTOR_ADMIN_TOKEN": token}).admin_token == token


def test_random_tokens_pass() -> None:
    for _ in range(2000):
        for token in (secrets.token_urlsafe(18), secrets.token_hex(12), secrets.token_urlsafe(32)):
            Settings.from_env({"REDIRECTOR_ADMIN_TOKEN": token})


def test_serve_stops_before_it_starts_on_a_weak_token() -> None:
    root = str(Path(__file__).resolve().parent.parent)
    env = {"REDIRECTOR_ADMIN_TOKEN": "aaaaaaaaaaaaaaaa", "PYTHONPATH": root}
    done = subprocess.run(
        [sys.executable, "-m", "redirector.cli", "serve", "--port", "1"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if "REDIRECTOR_ADMIN_TOKEN" in line]
    assert len(lines) == 1 and "aaaaaaaaaaaaaaaa" not in done.stderr + done.stdout
