"""Request and response models of the payout endpoints, beside ``schemas`` (which
they build on) so that neither grows past a screenful of areas."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..payouts import MAX_NOTE, PAYOUT_ID_CHARS
from .schemas import Body, Earnings, Slug, Timestamp

PayoutStatus = Literal["pending", "paid", "failed"]  # payouts.STATUSES (a test checks)


PeriodMade = Annotated[str, Field(max_length=16, description="YYYY-MM: made at its close")]


class PayoutPath(BaseModel):
    # No pattern: a malformed id names no payout and is answered 404, not 422.
    payout_id: Annotated[str, Field(description=f"po_ and {PAYOUT_ID_CHARS} letters or digits")]


class AccountPath(BaseModel):
    account_id: Slug


class PayoutQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an unknown parameter is 422, never ignored
    period: PeriodMade | None = None
    status: PayoutStatus | None = None
    account_id: Slug | None = Field(
        default=None, description="an agency's or a creator's id (a creator: its own only)"
    )
    format: Literal["json", "csv"] = Field(default="json", description="csv: a bank batch")


class PaidBody(Body):
    reference: str = Field(
        min_length=1,
        max_length=MAX_NOTE["reference"],
        description="the transfer's reference, e.g. the bank's id for it; one line",
    )


class FailedBody(Body):
    reason: str = Field(
        min_length=1,
        max_length=MAX_NOTE["reason"],
        description="why the transfer failed; one line",
    )


class Payout(BaseModel):
    id: str
    account_id: str
    account_type: Literal["agency", "creator"]
    period: str = Field(description="the period whose close made it")
    amount: int = Field(description="minor units (fen), at least the minimum payout")
    currency: str
    status: PayoutStatus
    created_at: Timestamp
    paid_at: Timestamp | None = None
    reference: str | None = None
    failed_at: Timestamp | None = None
    reason: str | None = None


class PayoutList(BaseModel):
    payouts: list[Payout]


class PayoutListDocument(PayoutList):
    """Payouts as JSON, or as a bank batch in CSV with ``?format=csv``."""

    model_config = ConfigDict(
        title="PayoutList",
        openapi_extra={  # type: ignore[typeddict-unknown-key]
            "content": {
                "text/csv": {
                    "schema": {
                        "type": "string",
                        "description": (
                            "?format=csv: a header row, then payout_id, period, account_id, "
                            "account_type, name, amount (minor units), amount_decimal, "
                            "currency, status, reference per payout"
                        ),
                    }
                }
            }
        },
    )


class Balance(BaseModel):
    account_id: str
    account_type: Literal["agency", "creator"]
    balance: int = Field(description="minor units carried into the next close; may be negative")
    currency: str
    min_payout: int = Field(description="a close pays the balance plus payable from this sum")


class CreatorEarnings(Earnings):
    guide_payable: int | None = Field(
        default=None, description="independent creators: what the period pays its own account"
    )
    payouts: list[Payout] | None = Field(
        default=None, description="independent creators: the payouts the period's close made"
    )
