"""A cluster master killed (SIGKILL) under clicks and order callbacks, with
money writes confirmed on a replica (``REDIRECTOR_MONEY_REPLICAS=1``): its
replica takes over, the service finds it by itself (no restart), redirects
keep answering 302 (the spool covers the gap), callbacks answer 503 with
``Retry-After`` meanwhile and never 500, and afterwards every click answered
302 and every callback answered 200 is in the cluster. Skipped without
redis-server and redis-cli; ``bench/failover.py`` repeats it over many kills."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from .conftest import ADMIN_TOKEN, SECRET_KEYS
from .failover_drill import describe, drill, make_world
from .servers import redis_cluster, service


@pytest.mark.server
@pytest.mark.own_store  # a cluster of its own, whatever REDIS_URL says
def test_a_master_killed_under_load_loses_no_answered_click_or_callback() -> None:
    with redis_cluster(masters=3, replicas=1) as cluster:
        spool_root = Path(tempfile.mkdtemp(prefix="redirector-spool-"))
        env = {
            "REDIS_CLUSTER_URL": cluster.url,
            "REDIRECTOR_MONEY_REPLICAS": "1",
            "REDIRECTOR_ADMIN_TOKEN": ADMIN_TOKEN,
            "REDIRECTOR_SECRET_KEYS": SECRET_KEYS,
            "REDIRECTOR_SPOOL_DIR": str(spool_root),
        }
        with service(env, workers=2, ready_within=60) as base:
            world = make_world(base, ADMIN_TOKEN)
            tally = drill(world, cluster, spool_root, before=1.5, after=2.0)
        print("\nfailover:", describe(tally), f"promoted after {tally.promoted_after:.1f} s")

        assert tally.clicks_answered > 100 and tally.orders_answered > 10
        assert tally.clicks_lost == 0
        assert tally.orders_lost == 0
        assert tally.unanswered_orders == 0  # every callback got its 200 in the end
        assert tally.callback_503 > 0  # the {money} master was away for a while
        assert tally.redirect_errors == tally.callback_errors == 0  # no 500, no dropped line
        # Redirects rode through on the spool: never as long without a 302 as the failover took.
        assert tally.redirect_gap < tally.promoted_after
