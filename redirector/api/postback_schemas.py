"""Request and response models of the postback endpoints (``api.postbacks``),
beside ``schemas``: the event types are the domain's own (``postbacks.events``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..postbacks import EVENT_TYPES
from ..postbacks.guard import MAX_URL_LENGTH
from .schemas import Body, Slug, Timestamp

__all__ = [
    "Delivery",
    "DeliveryList",
    "DeliveryPath",
    "DeliveryQuery",
    "Webhook",
    "WebhookBody",
    "WebhookList",
    "WebhookPath",
    "WebhookSecret",
]

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
# No pattern on ids: a malformed one names no endpoint or delivery, and is 404.
WebhookId = Annotated[str, Field(max_length=64, description="ep_ and 16 letters or digits")]
DeliveryId = Annotated[str, Field(max_length=64, description="the event's id: its webhook-id")]


class WebhookPath(BaseModel):
    webhook_id: WebhookId


class DeliveryPath(BaseModel):
    webhook_id: WebhookId
    delivery_id: DeliveryId


class WebhookBody(Body):
    url: str = Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="http or https; its host must resolve to public addresses only",
    )
    events: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES))
    agency_id: Slug | None = Field(
        default=None, description="admins only: the events of this agency's creators"
    )


class DeliveryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=50, ge=1, le=200)
    cursor: int | None = Field(default=None, ge=1, description="next_cursor of the last page")


class Webhook(BaseModel):
    id: str
    url: str
    events: list[str]
    creator_id: str | None = Field(description="a creator's endpoint: that creator's events")
    agency_id: str | None = Field(description="an admin's endpoint for one agency's creators")
    created_at: Timestamp
    previous_secret_expires_at: Timestamp | None = Field(
        description="while a rotated-out secret still signs too"
    )
    secret: str | None = Field(default=None, description="whsec_…, only on create")


class WebhookList(BaseModel):
    webhooks: list[Webhook]


class WebhookSecret(BaseModel):
    secret: str = Field(description="whsec_…, shown this once")
    previous_secret_expires_at: Timestamp


class Attempt(BaseModel):
    attempted_at: Timestamp
    status_code: int | None = Field(description="null: no answer (error says why)")
    error: str | None
    response: str = Field(description="the start of the answer's body")
    duration_ms: int


class Delivery(BaseModel):
    id: str
    webhook_id: str
    event_type: str
    state: Literal["pending", "delivered", "failed"]
    created_at: Timestamp
    attempt_count: int
    next_attempt_at: Timestamp | None
    delivered_at: Timestamp | None
    failed_at: Timestamp | None
    attempts: list[Attempt]
    payload: dict[str, Any] = Field(description="the message sent: {type, timestamp, data}")


class DeliveryList(BaseModel):
    deliveries: list[Delivery]
    next_cursor: int | None
