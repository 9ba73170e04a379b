"""Query and body of ``GET /stats``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class StatsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window: Literal["24h", "7d"] = Field(
        "24h", description="24h: 24 hourly buckets; 7d: 7 daily buckets (UTC), ending now"
    )
    sandbox: bool | None = Field(
        None, description="Count test messages instead of live ones (a test key: always)"
    )


class CountsView(BaseModel):
    accepted: int = Field(description="Messages accepted in the bucket")
    sent: int = Field(description="...of which the provider accepted")
    failed: int = Field(description="...of which failed for good")
    pending: int = Field(description="...of which are still queued, sending or deferred")
    deferred: int = Field(description="Temporary failures recorded (each retry counts)")
    opens: int = Field(description="Opens recorded (machine opens included)")
    clicks: int = Field(description="Clicks recorded (link scanners included)")


class BucketView(CountsView):
    start: str = Field(description="UTC, YYYY-MM-DDTHH:MM:SS")
    end: str = Field(description="UTC, YYYY-MM-DDTHH:MM:SS (exclusive)")
    capped: bool = Field(
        description="A count reached the most a bucket counts (10,000 an hour, 50,000 a "
        "day): the true one is at least that"
    )


class StatsView(BaseModel):
    window: Literal["24h", "7d"]
    sandbox: bool
    start: str
    end: str
    totals: CountsView
    capped: bool = Field(description="Some bucket is capped: the totals are lower bounds")
    buckets: list[BucketView] = Field(description="Oldest first")


class StatsResponse(BaseModel):
    success: bool = True
    data: StatsView
