"""Every Redis key the service uses, built here and nowhere else.

All keys start with one prefix and name what they hold. Keys that one Lua
script or transaction touches together share a hash tag (the part in braces),
so they live in one Redis Cluster slot:

- ``{l:<link_id>}``: a link, its counters, series, click records and
  uniqueness buckets (the click script touches all of them at once);
- ``{d:<xy>}``: the recent clicks of the devices whose id starts with ``xy``
  (written beside the click script in the same pipeline, read when
  attributing an order by device);
- ``{money}``: everything an order event changes — the order, its history and
  replay record, the money figures of its link and product, the settlement
  aggregates and period states — so that one script applies an event
  atomically, also on a cluster. Orders are a small fraction of clicks, so one
  slot carries them easily (see docs/scaling.md). Payouts and the balances
  guide accounts carry live here too: a period's close freezes its statement
  and makes its payouts in one script. The postback **outbox** lives here too,
  with the routing table of postback endpoints: an event is appended by the
  very script that makes the change it announces (``APPLY``,
  ``closing.CLOSE``), and the dispatcher reads the outbox and the routes in
  one transaction (docs/postbacks.md);
- ``{pb:<endpoint_id>}``: one postback endpoint: its record and secrets, its
  queue of deliveries, their log and its delivery lease (the delivery scripts
  touch them together);

- ``{registry}``: agencies, creators, API keys, storefronts, products and the
  link indexes: small, rarely written, and written together in transactions
  (MULTI/WATCH need one slot on a cluster). The redirect never reads them: each
  link carries a copy of its destination (a landing page, once its click is
  recorded, reads its product here for the title, price and share code). The
  product library's indexes live here too (written in the product's own
  transaction), except its sales order, which the order script keeps in
  ``{money}`` beside the figures it follows.
- ``{console}``: the console's sessions and, per holder, the index of its
  sessions (ended together in one transaction).
"""

from __future__ import annotations

PREFIX = "rd"


# -- registry -----------------------------------------------------------------


REGISTRY = f"{PREFIX}:{{registry}}"


def agency(agency_id: str) -> str:
    return f"{REGISTRY}:agency:{agency_id}"


def agencies() -> str:
    return f"{REGISTRY}:agencies"


def creator(creator_id: str) -> str:
    return f"{REGISTRY}:creator:{creator_id}"


def creators() -> str:
    return f"{REGISTRY}:creators"


def creator_links(creator_id: str) -> str:
    """Sorted set of the creator's link ids, scored by creation time (ms)."""
    return f"{REGISTRY}:creator:{creator_id}:links"


def creator_sub_links(creator_id: str, name: str, value: str) -> str:
    """Sorted set of the creator's link ids made with sub-id ``name`` (``sub1``…)
    set to ``value``, scored by creation time (ms): the index ``?sub1=`` reads.
    A sub-id value holds no ":" (``links.SUB_ID``), so it cannot spell another key."""
    return f"{REGISTRY}:creator:{creator_id}:sub:{name}:{value}"


def links_made(creator_id: str, window_seconds: int, window: int) -> str:
    """How many links the creator made in one window of a rate (``quota``): the
    ``window``-th stretch of ``window_seconds`` since the epoch. Expires with it."""
    return f"{REGISTRY}:creator:{creator_id}:made:{window_seconds}:{window}"


def api_key(key_hash: str) -> str:
    """SHA-256 of an API key -> creator id (the key itself is never stored)."""
    return f"{REGISTRY}:apikey:{key_hash}"


def storefront(storefront_id: str) -> str:
    return f"{REGISTRY}:storefront:{storefront_id}"


def storefronts() -> str:
    return f"{REGISTRY}:storefronts"


def storefront_products(storefront_id: str) -> str:
    return f"{REGISTRY}:storefront:{storefront_id}:products"


def product(product_id: str) -> str:
    return f"{REGISTRY}:product:{product_id}"


def products() -> str:
    return f"{REGISTRY}:products"


def product_links(product_id: str) -> str:
    """Set of the link ids made for a product (their destination copies follow it)."""
    return f"{REGISTRY}:product:{product_id}:links"


# -- the product library's indexes (docs/library.md) ----------------------------------

LIBRARY = f"{REGISTRY}:library"


def library_facts() -> str:
    """Hash product id -> JSON of what a search filters and sorts on (``library_index``)."""
    return f"{LIBRARY}:facts"


def library_order(sort: str) -> str:
    """Sorted set, every score 0, of ``<fixed-width value>:<product id>``: the
    library in ``sort`` order (``commission``, ``price``, ``newest``) read by lex range."""
    return f"{LIBRARY}:by:{sort}"


def library_category(category: str) -> str:
    """Set of the ids of the products in a category."""
    return f"{LIBRARY}:category:{category}"


def library_term(term: str) -> str:
    """Set of the ids of the products whose title holds ``term`` (one or two characters)."""
    return f"{LIBRARY}:term:{term}"


def library_changes() -> str:
    """Sorted set: product id -> the ``library_sequence`` of its last save."""
    return f"{LIBRARY}:changes"


def library_sequence() -> str:
    """Counter of product saves, so a paging run finds the products saved since its last page."""
    return f"{LIBRARY}:sequence"


def library_ordinals() -> str:
    """Counter giving each product a number, its tie-break in the sales order."""
    return f"{LIBRARY}:ordinals"


def library_run(run_id: str) -> str:
    """Set of the product ids one paging run has listed (expires)."""
    return f"{LIBRARY}:run:{run_id}"


# -- links and clicks ({l:<id>} slot) ------------------------------------------


def _link_tag(link_id: str) -> str:
    return f"{PREFIX}:{{l:{link_id}}}"


def link(link_id: str) -> str:
    return f"{_link_tag(link_id)}:link"


def links() -> str:
    """Sorted set of every link id, scored by creation time (ms)."""
    return f"{REGISTRY}:links"


def link_stats(link_id: str) -> str:
    return f"{_link_tag(link_id)}:stats"


def link_daily(link_id: str) -> str:
    """Hash ``YYYY-MM-DD:<counter>`` -> count, the per-day series of a link."""
    return f"{_link_tag(link_id)}:daily"


def link_clicks(link_id: str, day: int, bucket: int) -> str:
    """Hash: a click id's random part -> its packed record. A link's clicks of one
    UTC day are spread over numbered buckets of about ``clicks.BUCKET_ENTRIES``
    each, so that every bucket stays in Redis's compact (listpack) encoding."""
    return f"{_link_tag(link_id)}:clicks:{day}:{bucket}"


def link_unique(link_id: str, day: int) -> str:
    """Hash device -> time (ms) of its last unique click on the link, per UTC day."""
    return f"{_link_tag(link_id)}:uniq:{day}"


def link_flood(link_id: str, bucket: int) -> str:
    """Hash ``dev:<device>`` -> clicks on the link in one flood window
    (``fraud.flood_bucket``); expires after two windows."""
    return f"{_link_tag(link_id)}:flood:{bucket}"


def link_crowd(link_id: str, bucket: int) -> str:
    """Hash ``<ip hash>`` and ``<ip hash>:<agent hash>`` -> clicks of new devices
    on the link in one flood window; kept ``fraud.counts_kept_seconds``, so that
    the hold at payment reads the window's final counts."""
    return f"{_link_tag(link_id)}:crowd:{bucket}"


def click_keys(link_id: str, day: int, bucket: int, flood_bucket: int) -> list[str]:
    """KEYS of the click script, in its documented order."""
    return [
        link(link_id),
        link_stats(link_id),
        link_daily(link_id),
        link_clicks(link_id, day, bucket),
        link_unique(link_id, day),
        link_unique(link_id, day - 1),
        link_flood(link_id, flood_bucket),
        link_clicks(link_id, day, 0),
        link_crowd(link_id, flood_bucket),
    ]


# -- devices ({d:<xy>} slots) -----------------------------------------------------

# Devices share their index keys by the first two characters of their id (3,844
# groups of random base-62 ids), one key per group and UTC day: a key per
# device would cost more than the clicks it lists.
DEVICE_GROUP_CHARS = 2


def device_clicks(device: str, day: int) -> str:
    """Hash: device -> its human clicks of one UTC day (``clicks.device_entry``),
    for the devices whose id starts as this one's."""
    return f"{PREFIX}:{{d:{device[:DEVICE_GROUP_CHARS]}}}:{day}"


# -- money ({money} slot) ----------------------------------------------------------

MONEY = f"{PREFIX}:{{money}}"


def order(storefront_id: str, order_id: str) -> str:
    return f"{MONEY}:order:{storefront_id}:{order_id}"


def order_history(storefront_id: str, order_id: str) -> str:
    """List of the events an order received, in arrival order (``<sequence> <JSON>``)."""
    # A type of its own before the ids: an order id may hold ":" and must never
    # spell another order's history.
    return f"{MONEY}:order-history:{storefront_id}:{order_id}"


def delivery(storefront_id: str, webhook_id: str) -> str:
    """The response first given to a storefront's webhook-id, for replays (expires)."""
    return f"{MONEY}:delivery:{storefront_id}:{webhook_id}"


def orders() -> str:
    """Sorted set of ``<storefront>:<order>`` by arrival (ms)."""
    return f"{MONEY}:orders"


def held_orders() -> str:
    """Sorted set of ``<storefront>:<order>`` held for review, by arrival (ms)."""
    return f"{MONEY}:held-orders"


def review_request(storefront_id: str, order_id: str, action: str) -> str:
    """An admin's review of an order (``release``/``reject``), recorded once (expires)."""
    # The action before the ids: an order id may hold ":".
    return f"{MONEY}:review-request:{action}:{storefront_id}:{order_id}"


def link_money(link_id: str) -> str:
    """Hash of a link's order figures: orders, gmv, commission."""
    return f"{MONEY}:link:{link_id}"


def product_sales(product_id: str) -> str:
    """Hash of a product's attributed sales (orders, gmv), for sorting the library."""
    return f"{MONEY}:product:{product_id}"


def orders_by_paid() -> str:
    """Sorted set of ``<storefront>:<order>`` by paid time (ms): the order list
    (``orders.listing``), like the three below."""
    return f"{MONEY}:orders-paid"


def creator_orders(creator_id: str) -> str:
    """Sorted set of the orders attributed to a creator, by paid time (ms)."""
    return f"{MONEY}:creator-orders:{creator_id}"


def storefront_orders(storefront_id: str) -> str:
    """Sorted set of a storefront's orders, by paid time (ms)."""
    return f"{MONEY}:storefront-orders:{storefront_id}"


def status_orders(status: str) -> str:
    """Sorted set of the orders now in ``status``, by paid time (ms)."""
    return f"{MONEY}:status-orders:{status}"


def link_money_daily(link_id: str) -> str:
    """Hash ``YYYY-MM-DD:<orders|gmv|commission>`` -> change that local day
    (``series``), beside the click counters' ``link_daily``."""
    return f"{MONEY}:link-daily:{link_id}"


def library_sales() -> str:
    """Sorted set: product id -> orders * 2**21 + its ordinal (``library_ordinals``):
    the library in sales order, each score distinct. The order script moves it."""
    return f"{MONEY}:library:by-sales"


def library_sales_changes() -> str:
    """Sorted set: product id -> the ``money_sequence`` of the last event that moved its sales."""
    return f"{MONEY}:library:sales-changes"


def money_sequence() -> str:
    """Counter ordering every applied order event and every period closing."""
    return f"{MONEY}:sequence"


def money_replicated() -> str:
    """Counter written only to be replicated: a money write confirmed by ``WAIT``
    increments it last, so that the replicas' acknowledgement covers every
    write the slot's master made before (``store.run_replicated``)."""
    return f"{MONEY}:replicated"


def periods() -> str:
    """Hash period -> ``<closed at ms>:<sequence>``; a period absent here is open."""
    return f"{MONEY}:periods"


def period_versions() -> str:
    """Hash period -> count of writes to its aggregates; closing checks it did not move."""
    return f"{MONEY}:period-versions"


def period_lines(period: str) -> str:
    """Hash ``<account>|<channel>|<creator or *>|<metric>`` -> integer, a period's lines."""
    return f"{MONEY}:period:{period}:lines"


def period_adjustments(period: str) -> str:
    """Like ``period_lines``, for adjustment lines (changes to closed periods)."""
    return f"{MONEY}:period:{period}:adjustments"


def period_adjusted_orders(period: str) -> str:
    """Set of ``<account>|<channel>|<storefront>:<order>``: orders adjustment lines name."""
    return f"{MONEY}:period:{period}:adjusted-orders"


def period_ad_spend(period: str) -> str:
    """Hash account -> ad spend (minor units) recorded for the period."""
    return f"{MONEY}:period:{period}:ad-spend"


def period_statement(period: str) -> str:
    """The frozen statement document of a closed period (JSON)."""
    return f"{MONEY}:period:{period}:statement"


def balances() -> str:
    """Hash guide account (``agency:<id>``, ``creator:<id>``) -> the balance it
    carries into the next close (minor units); an account absent here carries 0."""
    return f"{MONEY}:balances"


def payout(payout_id: str) -> str:
    """Hash: one payout (``payouts``), from its making at a close to paid or failed."""
    return f"{MONEY}:payout:{payout_id}"


def payouts() -> str:
    """Sorted set of every payout id, scored by the money sequence of its close."""
    return f"{MONEY}:payouts"


def period_payouts(period: str) -> str:
    """Set of the ids of the payouts made when the period closed."""
    return f"{MONEY}:period:{period}:payouts"


def account_payouts(account: str) -> str:
    """Sorted set of one guide account's payout ids, scored like ``payouts``."""
    # The type before the account: an account (``agency:<id>``) holds ":".
    return f"{MONEY}:account-payouts:{account}"


def outbox() -> str:
    """List of postback events not yet fanned out, oldest first:
    ``<money sequence> <entry JSON>`` (``postbacks.outbox``)."""
    return f"{MONEY}:outbox"


def outbox_lease() -> str:
    """The dispatcher's lease: one process fans the outbox out at a time."""
    return f"{MONEY}:outbox-lease"


def postback_routes() -> str:
    """Hash endpoint id -> its route (scope, events, the money sequence it was
    registered at): what the dispatcher matches events against."""
    return f"{MONEY}:postback-routes"


# -- postback endpoints ({pb:<endpoint id>} slots) ------------------------------------


def _endpoint_tag(endpoint_id: str) -> str:
    return f"{PREFIX}:{{pb:{endpoint_id}}}"


def postback_endpoint(endpoint_id: str) -> str:
    """Hash: the endpoint's URL, owner, scope, events, sealed secrets, and when
    the head of its queue is due (``next_at``, ms; empty when idle)."""
    return f"{_endpoint_tag(endpoint_id)}:endpoint"


def postback_queue(endpoint_id: str) -> str:
    """List of the endpoint's delivery ids waiting to be sent, in event order."""
    return f"{_endpoint_tag(endpoint_id)}:queue"


def postback_deliveries(endpoint_id: str) -> str:
    """Hash delivery id -> its record (JSON): the message and every attempt."""
    return f"{_endpoint_tag(endpoint_id)}:deliveries"


def postback_log(endpoint_id: str) -> str:
    """Sorted set of the endpoint's delivery ids by arrival (a counter): the log."""
    return f"{_endpoint_tag(endpoint_id)}:log"


def postback_lease(endpoint_id: str) -> str:
    """Who is sending to the endpoint now (a random token; expires)."""
    return f"{_endpoint_tag(endpoint_id)}:lease"


def postback_keys(endpoint_id: str) -> list[str]:
    """KEYS of the delivery scripts, in their documented order."""
    return [
        postback_endpoint(endpoint_id),
        postback_queue(endpoint_id),
        postback_deliveries(endpoint_id),
        postback_log(endpoint_id),
        postback_lease(endpoint_id),
    ]


# -- console sessions ({console} slot) -------------------------------------------------

CONSOLE = f"{PREFIX}:{{console}}"


def console_session(session_hash: str) -> str:
    """SHA-256 of a session id -> who holds the session (``sessions.holder``); expires."""
    return f"{CONSOLE}:session:{session_hash}"


def console_sessions(holder: str) -> str:
    """Sorted set of a holder's session hashes, scored by when each expires (ms)."""
    return f"{CONSOLE}:holder:{holder}"


# -- service state -------------------------------------------------------------


def clock() -> str:
    """The mock clock's current time (ms since the epoch), shared by every worker."""
    return f"{PREFIX}:clock"
