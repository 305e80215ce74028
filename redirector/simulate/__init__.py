"""A month of traffic and storefront orders, driven through the service's real HTTP API.

``redirector simulate`` builds a small world on a running service (or on one it
starts itself: ``redirector serve`` in a child process, embedded store, mock
clock) and plays it hour by hour on the mock clock:

- **storefronts** Taobao, Youzan and Moku, each with its own hosts, click-id
  parameter and app deep links (Youzan shops are H5 pages: no app link), and a
  product library of each;
- **agencies** (MCNs) and **independent creators** on Weibo, Douyin and
  Kuaishou, with heavy-tailed reach; they publish **posts** (video, article,
  image, live) that carry one tracking link per product, made with the
  creator's own API key;
- **clicks** follow a diurnal curve (Asia/Shanghai evenings, quiet nights,
  busier weekends, triple traffic on 11.11, 12.12 and 6.18) and decay with the
  post's age; **live** posts draw a burst of clicks while the stream is on, and
  those convert more, within minutes;
- **user agents** are those of real audiences: each channel's in-app browser
  on iOS and Android, WeChat (links shared on), mobile Safari/Chrome and the
  Huawei browser, desktop browsers; about 8% of requests are crawlers and
  link-preview fetchers (Googlebot, Baiduspider, Bytespider,
  Slackbot-LinkExpanding, TelegramBot, facebookexternalhit...), ``HEAD`` link
  checkers and ``Sec-Purpose: prefetch`` requests (a share of the traffic, and
  a fetch or two of every new post's links). A simulated device is one
  browser (one cookie jar): it sends back the ``rd_did`` cookie the service
  set, and returning devices come back on later hours;
- **orders** come only from human clicks, after a delay (minutes to two days),
  carrying the click id (most), or only the device id (some: attributed by the
  device's last click); a few are placed on another storefront than the one
  clicked, and a few are organic (no click at all): both mostly unattributed;
- devices connect from **addresses** as phones do: behind their carrier's few
  NAT addresses on mobile data, from a home line on Wi-Fi (``network``: each
  request is sent from 127.x.y.z, which a service on loopback sees as the
  client's address);
- **live-stream crowds** of first-time phones hit a stream's link at once, and
  the run **injects fraud**: a click farm on one link, instant conversions,
  and a page stuffing a link as an image (``injections``); each order keeps
  its ground truth. The service reviews with its default thresholds; the
  books predict its holds (``holds``), the simulator plays the admin who
  releases the legitimate held orders and rejects the fraudulent ones, and a
  review table sets the holds against the ground truth (``review``);
- each order is **confirmed** 1-7 days later, or **cancelled** before that
  (about 5%); about 8% are **refunded** after confirmation, partly (sometimes
  twice) or wholly; about 1% of events are delivered twice (same
  ``webhook-id``), as a storefront retrying would;
- every agency records **ad spend** for each period the run touches, and with
  ``--close`` (the default) each period is **closed** once it has ended, so
  later refunds of its orders become adjustment lines and the close makes
  **payouts**, which the books predict and compare (``Books.close_period``).

Storefront callbacks are signed by :class:`redirector.storefront_client.StorefrontClient`
with the secret the service gave each storefront: everything passes through
the doors a real integration uses.

**The window.** ``--days`` bounds the *traffic*: posts, clicks and the orders
they lead to. The lifecycle of those orders is then played to its end: after
the window the clock keeps moving (only the hours where something happens)
until the last confirmation, cancellation and refund is delivered, so every
order lands and the comparison covers all of them. Orders still ``paid`` at
the end would not be in any statement; with this choice there are none, and
the summary says so. At the end the clock is set past the last event.

**The comparison.** The simulator keeps its own books from what it sent and
what the service answered: clicks, unique clicks (per device and link, 24 h)
and bot clicks per link; which orders should be attributed (it predicts the
rule: click id, else the device's last human click on that storefront within
the window) and their commission (``money.commission_of`` on the product's
rate); the order lifecycle with refunds and cancellations; which period each
confirmation settles in (``confirmed_at + holding_days``, the first open one)
and where a refund after closing goes (an adjustment line); the split per line
and the ad rebate (``money.split_commission``, ``money.allocate_ad_rebate``).
It then reads the link stats and the statement of every period from the start
month to the month the clock ends in, and compares line by line. Only lines
of this run's accounts are compared, so several runs may share one service
(``--run-id`` prefixes every slug and order id); when a statement holds only
this run's lines, its totals must also be their sum. Any disagreement makes
the command exit 1. Redirect destinations are checked against docs/rules.md
too (app link for phones, web URL for desktops and bots); a departure is
listed as a *finding* and does not change the exit status.

**Postbacks.** The run registers an endpoint of its own (``hooks``: a
``receiver`` on loopback) and books every event it should receive; an expected
event that never arrived, failed verification or came out of order is a
disagreement, one that came twice is counted and allowed.

**Determinism.** Every random draw comes from ``--seed`` (one stream per
concern), and draws never depend on the service's answers: the same seed sends
the same requests, apart from what the service makes (link tokens, click ids,
device cookies). Requests within one simulated hour may be sent concurrently
(``--concurrency``); they cannot affect one another: a device clicks at most
once an hour, every click of an hour is recorded at the same instant (the
hour's tick), an order is never placed on a tick and an hour's order events
are sent before its clicks, and an order's events go one after the other.

**Volume.** At the defaults (30 days, 12 creators, 40 orders a day, seed 1) a
run makes 18,997 redirects and 1,565 orders, 25,221 requests (docs/simulator.md
says how long it took).

**Where it lives.** ``shape`` (the traffic's figures and calendar), ``agents``
(user agents and bots), ``world`` (storefronts, products, agencies, creators,
links, devices; set up on the service), ``posts`` (what creators publish),
``traffic`` (the hour's clicks), ``orders`` (orders and their storefront
events), ``books`` (the simulator's expectations), ``compare`` (against the
API), ``hooks`` and ``receiver`` (its postback endpoint), ``driver`` (the
clock loop), ``command`` and ``service`` (the CLI entry and the embedded
service).
"""

from .agents import CONTEXT_MIX, BotRequest, bot_request, human_user_agent
from .command import render_summary, run, simulate
from .driver import Simulation
from .options import Options, Row, SimulationError, SimulationResult
from .service import embedded_service

__all__ = [
    "CONTEXT_MIX",
    "BotRequest",
    "Options",
    "Row",
    "Simulation",
    "SimulationError",
    "SimulationResult",
    "bot_request",
    "embedded_service",
    "human_user_agent",
    "render_summary",
    "run",
    "simulate",
]
