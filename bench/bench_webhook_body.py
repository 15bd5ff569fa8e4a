"""How large Graph's webhook bodies get, and what reading them costs (the 4 MiB limit's basis).

A basic user change notification in the shape graph-facts.md §3 shows, with a 128-character
clientState, compact and pretty-printed; bodies of 2,000 items (the largest batch we plan for)
and bodies filling MAX_BODY_BYTES are timed through the webhook function itself (parse, check
each item, encode the queue messages), best of `--repeat`.

Usage: .venv/bin/python bench/bench_webhook_body.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CLIENT_STATE = "c" * 128
os.environ["CLIENT_STATE"] = CLIENT_STATE

import azure.functions as func  # noqa: E402

import function_app  # noqa: E402
from harness.invocation import invocation  # noqa: E402
from reconciler import notify  # noqa: E402


def item(n: int) -> dict:
    user_id = f"5f3c1b7e-0000-4000-8000-{n:012d}"
    return {
        "changeType": "updated",
        "clientState": CLIENT_STATE,
        "resource": f"Users/{user_id}",
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.User",
            "@odata.id": f"Users/{user_id}",
            "id": user_id,
            "organizationId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
            "sequenceNumber": 638412345678901234,
        },
        "subscriptionExpirationDateTime": "2025-02-20T10:00:00.0000000+00:00",
        "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
        "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
    }


class Out:
    def set(self, value: list[str]) -> None:
        self.value = value


def body(count: int, indent: int | None) -> bytes:
    separators = (",", ":") if indent is None else None
    items = [item(n) for n in range(count)]
    return json.dumps({"value": items}, indent=indent, separators=separators).encode()


def time_post(payload: bytes, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        request = func.HttpRequest("POST", "http://localhost/api/notifications", body=payload)
        started = time.perf_counter()
        response = function_app.notifications(request, Out(), invocation())
        best = min(best, time.perf_counter() - started)
        assert response.status_code == 202, response.get_body()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    compact = len(json.dumps(item(0), separators=(",", ":")))
    pretty = len(json.dumps(item(0), indent=2)) + 2  # each line indented once more in `value`
    print(f"one item: {compact} bytes compact, ~{pretty} pretty-printed")
    print(f"limit: {notify.MAX_BODY_BYTES:,} bytes")
    for label, indent, per_item in (("compact", None, compact + 1), ("pretty", 2, pretty + 8)):
        fits = notify.MAX_BODY_BYTES // per_item
        for count in (2000, fits):
            payload = body(count, indent)
            while len(payload) > notify.MAX_BODY_BYTES:
                count -= 50
                payload = body(count, indent)
            seconds = time_post(payload, args.repeat)
            print(
                f"{label:8s} {count:6,} items {len(payload) / 2**20:5.2f} MiB: "
                f"webhook {seconds * 1000:6.1f} ms"
            )


if __name__ == "__main__":
    main()
