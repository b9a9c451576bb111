"""What every benchmark is given: the sizes of this run, a seeded RNG, the server and key."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    customers: int
    upserts: int  # service calls, half creates and half updates
    api_upserts: int  # HTTP calls, half creates and half updates
    reads: int  # requests per read benchmark (each list variant, the 360)
    health: int  # requests of the HTTP floor
    bulk_rows: int
    save_rows: int
    max_seconds: float  # time limit of each request loop


FULL = Sizes(
    customers=100_000,
    upserts=2_000,
    api_upserts=2_000,
    reads=300,
    health=2_000,
    bulk_rows=10_000,
    save_rows=1_000,
    max_seconds=60,
)
QUICK = Sizes(
    customers=2_000,
    upserts=200,
    api_upserts=200,
    reads=30,
    health=200,
    bulk_rows=2_000,
    save_rows=200,
    max_seconds=20,
)


@dataclass
class Context:
    sizes: Sizes
    rng: random.Random
    tag: str  # unique per run: keeps new customers' keys apart from earlier runs'
    api_key: str = ""
    base_url: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}
