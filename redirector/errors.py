"""The error tree: every failure the API reports is one of these.

One handler (``redirector.api.init_app``) maps each class to its status and
code, so a rule only raises what went wrong and never builds a response.
"""

from __future__ import annotations

from typing import Any


class RedirectorError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        body.update(self.details)
        return {"error": body}


class BadRequest(RedirectorError):
    status = 400
    code = "bad_request"


class Unauthorized(RedirectorError):
    status = 401
    code = "unauthorized"


class Forbidden(RedirectorError):
    status = 403
    code = "forbidden"


class NotFound(RedirectorError):
    status = 404
    code = "not_found"


class Conflict(RedirectorError):
    status = 409
    code = "conflict"


class Gone(RedirectorError):
    status = 410
    code = "gone"


class InvalidField(RedirectorError):
    """422 naming each offending field: ``fields`` is a list of {field, message}."""

    status = 422
    code = "invalid_field"

    def __init__(self, message: str, fields: list[dict[str, str]] | None = None) -> None:
        super().__init__(message, fields=fields or [])

    @classmethod
    def one(cls, field: str, message: str) -> InvalidField:
        return cls(f"{field}: {message}", [{"field": field, "message": message}])


class PayloadTooLarge(RedirectorError):
    """A request body over its limit (``bodies``)."""

    status = 413
    code = "payload_too_large"


class TooManyRequests(RedirectorError):
    """Over a rate; ``retry_after`` is the whole seconds until one more fits."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreUnavailable(RedirectorError):
    """The store (Redis) could not be reached: raised at the store boundary
    (``store.wrap``, ``store.run_scripts``) for ``store.UNAVAILABLE_ERRORS``,
    with redis-py's error as ``__cause__``. Other store errors stay redis-py's."""

    status = 503
    code = "store_unavailable"


class NotReplicated(StoreUnavailable):
    """A money write made on the master but not yet confirmed by as many
    replicas as ``REDIRECTOR_MONEY_REPLICAS`` asks (``store.run_replicated``):
    not answered as done, since a failover now could lose it. A retry answers
    once it is replicated (the write itself is never made twice)."""

    code = "not_replicated"


class Busy(RedirectorError):
    """Contention that a retry resolves (503 with Retry-After)."""

    status = 503
    code = "busy"


class ConfigError(Exception):
    """A bad setting; its message is one line naming the setting."""
