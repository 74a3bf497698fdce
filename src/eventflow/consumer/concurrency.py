"""Requests that do not depend on each other go out together: one round trip, not N.

A consumer batch touches many independent items (one account, one region each). Their
conditional writes are sent in parallel from a small thread pool (boto3 clients are thread-safe;
``eventflow.aws`` sizes the client's connection pool for it), so a batch costs as many sequential
DynamoDB round trips as it has *phases*, however many items each phase writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Requests in flight at once; matches ``eventflow.aws``'s connection pool.
MAX_PARALLEL = 32


@cache
def executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=MAX_PARALLEL, thread_name_prefix="ddb")


def submit(fn: Callable[[], R]) -> Future[R]:
    return executor().submit(fn)


def parallel(fn: Callable[[T], R], items: Sequence[T]) -> list[R | BaseException]:
    """``fn`` over ``items`` at once; each result, or the exception it raised, in order."""
    if len(items) == 1:
        try:
            return [fn(items[0])]
        except Exception as exc:
            return [exc]
    futures = [executor().submit(fn, item) for item in items]
    out: list[R | BaseException] = []
    for f in futures:
        try:
            out.append(f.result())
        except Exception as exc:
            out.append(exc)
    return out
