"""JSON $batch: up to 20 requests in one call; items that Graph throttles are sent again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.directory import DirectoryError

from .transport import RETRYABLE_STATUS, GraphResponse, GraphTransport

BATCH_LIMIT = 20


@dataclass(frozen=True, slots=True)
class BatchItem:
    id: str
    method: str
    url: str  # relative to the version root, e.g. /users/{id}
    body: Any = None


async def send_batch(
    transport: GraphTransport, items: list[BatchItem], *, kind: str, writes: bool
) -> dict[str, GraphResponse]:
    """Each item's final response by id. A 429/503/504 inside the batch is not retried by
    anyone else (the SDK only retries the outer POST), so those items go again after the
    longest Retry-After among them."""
    if len(items) > BATCH_LIMIT:
        raise ValueError(f"a $batch holds at most {BATCH_LIMIT} requests, not {len(items)}")
    results: dict[str, GraphResponse] = {}
    pending = items
    for attempt in range(1, transport.policy.attempts + 1):
        response = await transport.call(
            "POST",
            "/$batch",
            kind="batch",
            body={"requests": [_request(item) for item in pending]},
            writes=len(pending) if writes else 0,
        )
        if not response.ok:
            raise response.failure("$batch failed")
        transport.counts[kind] += len(pending)
        by_id = {item.id: item for item in pending}
        retry: list[BatchItem] = []
        delay = 0.0
        for entry in response.body.get("responses", []):
            headers = {k.lower(): str(v) for k, v in (entry.get("headers") or {}).items()}
            result = GraphResponse(int(entry.get("status", 0)), headers, entry.get("body"))
            item = by_id.get(str(entry.get("id")))
            if item is None:
                continue
            if result.status in RETRYABLE_STATUS and attempt < transport.policy.attempts:
                retry.append(item)
                delay = max(delay, transport.policy.delay(attempt, headers.get("retry-after")))
            else:
                results[item.id] = result
        missing = [item for item in pending if item.id not in results and item not in retry]
        if missing:
            raise DirectoryError(f"$batch answered without {len(missing)} of its requests")
        if not retry:
            return results
        await transport.sleep(delay)
        pending = retry
    return results


def _request(item: BatchItem) -> dict[str, Any]:
    request: dict[str, Any] = {"id": item.id, "method": item.method, "url": item.url}
    if item.body is not None:
        request["body"] = item.body
        request["headers"] = {"Content-Type": "application/json"}
    return request
