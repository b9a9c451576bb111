"""A small closed-loop HTTP client: a few threads, a bounded count and a time limit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

# Two client threads keep the two sync workers busy without queueing requests behind them.
CLIENT_THREADS = 2
REQUEST_TIMEOUT = 60.0

# (session, request number) -> response. Only 127.0.0.1 URLs are ever built.
Call = Callable[[requests.Session, int], requests.Response]


@dataclass
class LoadResult:
    planned: int
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    elapsed: float = 0.0
    failures: int = 0
    first_failure: str = ""

    @property
    def done(self) -> str:
        """`ok/planned`, e.g. `130/300` when the time limit stopped the loop."""
        return f"{len(self.latencies)}/{self.planned}"

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def describe_failures(self, label: str) -> None:
        if self.failures:
            print(f"  {label}: {self.failures} failed request(s); first: {self.first_failure}")


def run_load(
    call: Call,
    *,
    count: int,
    max_seconds: float,
    threads: int = CLIENT_THREADS,
    ok: tuple[int, ...] = (200, 201),
) -> LoadResult:
    """Send up to `count` requests, stopping early after `max_seconds`; time each one."""
    result = LoadResult(planned=count)
    lock = threading.Lock()
    next_number = iter(range(count))
    deadline = time.monotonic() + max_seconds

    def worker() -> None:
        with requests.Session() as session:
            while time.monotonic() < deadline:
                with lock:
                    number = next(next_number, None)
                if number is None:
                    return
                started = time.perf_counter()
                try:
                    response = call(session, number)
                    failure = (
                        "" if response.status_code in ok else f"{response.status_code} {response.text[:300]}"
                    )
                except requests.RequestException as exc:
                    failure = f"{exc.__class__.__name__}: {exc}"
                took = time.perf_counter() - started
                with lock:
                    if failure:
                        result.failures += 1
                        result.first_failure = result.first_failure or failure
                    else:
                        result.latencies.append(took)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(worker) for _ in range(threads)]:
            future.result()
    result.elapsed = time.perf_counter() - started
    return result


def page_figures(
    ctx: Any, path: str, key: str, label: str, params: dict[str, str], cookies: dict[str, str]
) -> list[Any]:
    """Rate and latency of a signed-in GET of `path`, next to the /health/ floor."""
    from .report import Figure, latency_figures

    url = f"{ctx.base_url}{path}"

    def call(session: requests.Session, _n: int) -> requests.Response:
        # A redirect (to the login page) is a failure, not a page.
        return session.get(url, params=params, cookies=cookies, allow_redirects=False, timeout=60)

    result = run_load(call, count=ctx.sizes.reads, max_seconds=ctx.sizes.max_seconds, ok=(200,))
    result.describe_failures(label)
    return [
        Figure(f"{key}_rate", f"{label} ({result.done})", result.rate, "requests/s", "health_rate"),
        *latency_figures(key, label, result.latencies, floor="health"),
    ]
