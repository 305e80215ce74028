"""A bounded soak: clicks, storefront callbacks and statement reads together, then
a reconciliation of everything the service accepted.

    .venv/bin/python -m bench.soak [--minutes 3] [--seed 1]

Starts a private ``redis-server`` (no AOF, no snapshots) on a free loopback
port and ``redirector serve`` on it (gunicorn, ``--workers`` workers), sets up
storefronts, products, agencies, creators, links and ad spend over the API,
then for ``--minutes`` runs at once:

- clicks: threads of keep-alive ``http.client`` connections, each playing its
  own devices (cookie kept, as a browser does) with in-app, mobile and desktop
  user agents, plus crawlers, link previews, a client with no user agent,
  ``HEAD`` checkers and browser prefetches; every 302 is recorded with its
  click id, and its ``Location`` checked against the product's URL;
- storefront callbacks (``StorefrontClient``, signed) for orders made from those
  clicks, carrying the click id, only the device id, a bot's click id or
  nothing: paid, confirmed, partial and full refunds, cancellations. Some
  messages are sent again later with the same webhook-id (expect the first
  answer, ``Webhook-Replayed: true``), some three times at once (exactly one
  applies), some again under a new webhook-id (a no-op), and some orders are
  delivered out of order (``confirmed`` before ``paid``, a refund before its
  confirmation): the 409 is retried after the event it waits for, as a real
  sender does; 503 ``busy`` and lost answers are retried with the same
  webhook-id. The soak keeps its own ledger of what each 2xx accepted;
- reads: the current period's statement, links and orders in a loop, each
  answer 200, the statement consistent in itself, and a link's click count
  never below the 302s answered before the read nor above those sent.

Then new clicks and orders stop, the orders in flight finish their lifecycle
(bounded by ``--drain-seconds``), and the soak reconciles what it sent with
what the service kept: the checks are listed in ``verify``.

Clock: the real one. A soak is about time passing under load (keep-alive
timeouts, the 300 s webhook-timestamp tolerance, events dated as they happen);
the mock clock stands still and would make every click and event of the run
share a few instants and let the soak, not the load, decide what "later"
means. So every ``occurred_at`` is the wall-clock time the soak made the
event (always after the click it follows). If a month ends during the run,
the periods on both sides are reconciled.

CPU: two cores are shared by redis-server, the gunicorn workers and this
process (one interpreter lock for all its threads), so latencies are measured
from the client and include its own waiting; they are figures of a busy
machine, not of the service alone. Exit code 1 if any check fails.

**Where it lives.** ``world`` (the service, the accounts and links set up on
it), ``clicks``, ``callbacks`` and ``reads`` (the three kinds of threads),
``ledger`` (orders and what each accepted message did), ``recorder``,
``state`` (what the threads share), ``verify`` (the reconciliation), ``report``
and ``run`` (the load, the drain, ``main``).
"""

from .run import main, run
from .state import Soak

__all__ = ["Soak", "main", "run"]
