"""Storage queues with the host's semantics: the queue output binding (encode, create the queue if
missing) and the queue trigger listener (batches, polling back-off, lease renewal, retry after
visibilityTimeout, poison queue after maxDequeueCount), modelled on the queues extension 5.x
(QueueListener, QueueProcessor in azure-sdk-for-net)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
from azure.storage.queue.aio import QueueClient

from devhost import rpc
from devhost.binding_data import OutputError, queue_input, queue_messages
from devhost.catalog import FunctionSpec, QueueOutput
from devhost.config import ConfigError, QueueOptions
from devhost.invocation import Invoker

log = logging.getLogger("devhost")

# The listener leases each message for 10 minutes and renews at half-time while the function runs;
# host.json's visibilityTimeout is only the delay before a *failed* message is visible again. A
# message whose host dies mid-invocation reappears when its lease ends (tests shorten the lease).
LEASE_SECONDS = 600
MIN_POLLING_SECONDS = 0.1


def encode_messages(data: rpc.TypedData, encoding: str) -> list[str]:
    """What a queue output puts on the queue (one message, or one per list item); base64 by
    default, as the host's queues extension writes them."""
    raw_messages = queue_messages(data)
    if encoding == "base64":
        return [base64.b64encode(raw).decode("ascii") for raw in raw_messages]
    return [raw.decode("utf-8", errors="replace") for raw in raw_messages]


def decode_body(text: str, encoding: str) -> bytes:
    """The message body a trigger sees; ValueError when it is not valid base64."""
    if encoding == "none":
        return text.encode("utf-8")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"message is not valid base64 ({exc})") from exc


class QueueService:
    """Async queue clients per (connection setting, queue), created on first use."""

    def __init__(self, settings: Mapping[str, str], options: QueueOptions) -> None:
        self.settings = settings
        self.options = options
        self._clients: dict[tuple[str, str], QueueClient] = {}
        # The listeners to wake when a message is written to their queue (the host's
        # SharedQueueWatcher), so a message from an output binding is picked up at once.
        self.watchers: dict[str, list[Callable[[], None]]] = {}

    def client(self, connection: str, queue: str) -> QueueClient:
        key = (connection, queue)
        if key not in self._clients:
            conn_str = self.settings.get(connection)
            if not conn_str:
                raise ConfigError(
                    f"storage connection setting {connection!r} is not set "
                    "(a connection string, e.g. UseDevelopmentStorage=true)"
                )
            # Two quick retries (after 0.1 s and 0.6 s): a webhook must answer within Graph's 3 s
            # (the SDK's default back-off starts at 15 s), and whoever sees the 500 retries anyway.
            self._clients[key] = QueueClient.from_connection_string(
                conn_str,
                queue,
                retry_total=2,
                initial_backoff=0.1,
                increment_base=0.5,
                random_jitter_range=0.05,
                connection_timeout=5,
                read_timeout=30,
            )
        return self._clients[key]

    async def send(self, connection: str, queue: str, messages: list[str]) -> None:
        """Add messages, creating the queue when it is missing (AddMessageAndCreateIfNotExists)."""
        client = self.client(connection, queue)
        for message in messages:
            try:
                await client.send_message(message)
            except ResourceNotFoundError:
                await client.create_queue()
                await client.send_message(message)
        for wake in self.watchers.get(queue, []):
            wake()

    async def write_outputs(
        self, outputs: tuple[QueueOutput, ...], values: Mapping[str, rpc.TypedData]
    ) -> None:
        for output in outputs:
            if output.name not in values:
                continue
            try:
                messages = encode_messages(values[output.name], self.options.message_encoding)
                await self.send(output.connection, output.queue, messages)
            except (AzureError, ConfigError) as exc:
                raise OutputError(f"could not write to queue '{output.queue}': {exc}") from exc

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()


class Backoff:
    """The host's RandomizedExponentialBackoffStrategy: from 100 ms, doubling (+/-20 %) up to
    maxPollingInterval while the queue stays empty; back to 100 ms once a message is found."""

    def __init__(self, maximum: float) -> None:
        self.maximum = max(maximum, MIN_POLLING_SECONDS)
        self.current = MIN_POLLING_SECONDS
        self.exponent = 1

    def next(self, found_message: bool) -> float:
        if found_message:
            self.current, self.exponent = MIN_POLLING_SECONDS, 1
        elif self.current < self.maximum:
            step = random.uniform(0.8, 1.2) * 2 ** (self.exponent - 1) * MIN_POLLING_SECONDS
            self.current = min(MIN_POLLING_SECONDS + step, self.maximum)
            self.exponent += 1
        return self.current


class QueueListener:
    """Feeds one queue-triggered function from its queue until stopped."""

    def __init__(
        self,
        spec: FunctionSpec,
        service: QueueService,
        invoker: Invoker,
        write_outputs: Callable[[FunctionSpec, Mapping[str, Any]], Awaitable[None]],
        lease_seconds: int = LEASE_SECONDS,
    ) -> None:
        if lease_seconds < 2:
            raise ValueError("the queue lease must be at least 2 seconds (renewed at half-time)")
        self.spec = spec
        self.lease_seconds = lease_seconds
        self.service = service
        self.options = service.options
        self.invoker = invoker
        self.write_outputs = write_outputs
        self.queue = service.client(spec.connection, spec.queue)
        self.poison = (
            service.client(spec.connection, spec.poison_queue) if spec.poison_queue else None
        )
        self._processing: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._stopping = False
        service.watchers.setdefault(spec.queue, []).append(self._wake.set)

    async def run(self) -> None:
        backoff = Backoff(self.options.max_polling_interval.total_seconds())
        found = False
        threshold = self.options.effective_new_batch_threshold
        while not self._stopping:
            # A write to this queue from now on cuts the next idle wait short.
            self._wake.clear()
            batch = await self._receive()
            if not batch:
                await self._idle(backoff.next(found))
                found = False
                continue
            if self._stopping:  # stopped while receiving: hand the messages back at once
                for message in batch:
                    await self._complete(
                        self.queue.update_message(
                            message.id, message.pop_receipt, visibility_timeout=0
                        )
                    )
                return
            found = True
            for message in batch:
                task = asyncio.create_task(self._process_logged(message))
                self._processing.add(task)
                task.add_done_callback(self._processing.discard)
            # Fetch the next batch only once at most newBatchThreshold messages are in flight.
            while len(self._processing) > threshold and not self._stopping:
                await asyncio.wait(set(self._processing), return_when=asyncio.FIRST_COMPLETED)

    async def stop(self) -> None:
        """Stop polling and wait for the messages in flight (graceful, as the host drains)."""
        self._stopping = True
        self._wake.set()
        if self._processing:
            await asyncio.wait(set(self._processing))

    async def _idle(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _receive(self) -> list[Any]:
        try:
            pages = self.queue.receive_messages(
                messages_per_page=self.options.batch_size,
                max_messages=self.options.batch_size,
                visibility_timeout=self.lease_seconds,
            ).by_page()
            async for page in pages:
                return [message async for message in page]
            return []
        except ResourceNotFoundError:
            return []  # the queue does not exist yet: an empty queue to the host
        except (AzureError, ConfigError, OSError) as exc:
            log.warning("Polling queue '%s' failed: %s", self.spec.queue, _short(exc))
            return []

    async def _process_logged(self, message: Any) -> None:
        try:
            await self._process(message)
        except Exception as exc:  # storage down mid-way: the lease makes the message reappear
            log.error("Queue '%s', message %s: %s", self.spec.queue, message.id, _short(exc))

    async def _process(self, message: Any) -> None:
        options = self.options
        if message.dequeue_count > options.max_dequeue_count:
            await self._to_poison(message)
            return
        try:
            body = decode_body(message.content or "", options.message_encoding)
        except ValueError as exc:
            # Extension 5.x moves an undecodable message to the poison queue at once: retrying
            # cannot help (azure-sdk-for-net PR 18326).
            log.warning("Queue '%s', message %s: %s", self.spec.queue, message.id, exc)
            await self._to_poison(message)
            return
        trigger = queue_input(
            message_id=message.id,
            body=body,
            dequeue_count=message.dequeue_count,
            pop_receipt=message.pop_receipt,
            inserted=message.inserted_on,
            expires=message.expires_on,
            next_visible=message.next_visible_on,
        )
        renewal = asyncio.create_task(self._renew_lease(message))
        try:
            outcome = await self.invoker.invoke(
                self.spec,
                trigger,
                f"New queue message detected on '{self.spec.queue}'.",
                retry_count=message.dequeue_count - 1,
            )
            if outcome.succeeded:
                try:
                    await self.write_outputs(self.spec, outcome.outputs)
                except OutputError as exc:
                    log.error("Function '%s' failed: %s", self.spec.name, exc)
                    outcome.error = str(exc)
        finally:
            renewal.cancel()
        if outcome.succeeded:
            await self._complete(self.queue.delete_message(message.id, message.pop_receipt))
        elif self.poison is None:
            pass  # no poison queue: leave it invisible until the lease ends (no fast retry loop)
        elif message.dequeue_count >= options.max_dequeue_count:
            await self._to_poison(message)
        else:
            await self._complete(
                self.queue.update_message(
                    message.id,
                    message.pop_receipt,
                    visibility_timeout=int(options.visibility_timeout.total_seconds()),
                )
            )

    async def _renew_lease(self, message: Any) -> None:
        """Keeps the message invisible while its function runs; a renewal storage refuses is
        tried again at the next half-time (if the lease ends first, the message runs twice:
        queue functions must be idempotent)."""
        while True:
            await asyncio.sleep(self.lease_seconds / 2)
            try:
                receipt = await self.queue.update_message(
                    message.id, message.pop_receipt, visibility_timeout=self.lease_seconds
                )
            except AzureError as exc:
                log.warning("Queue '%s': lease renewal failed: %s", self.spec.queue, _short(exc))
                continue
            message.pop_receipt = receipt.pop_receipt

    async def _to_poison(self, message: Any) -> None:
        if self.poison is None:
            return
        log.warning(
            "Message has reached MaxDequeueCount of %d. Moving message to queue '%s'.",
            self.options.max_dequeue_count,
            self.spec.poison_queue,
        )
        # The body is copied as it sits in the queue (still base64), as the host copies it.
        await self.service.send(
            self.spec.connection, self.spec.poison_queue or "", [message.content]
        )
        await self._complete(self.queue.delete_message(message.id, message.pop_receipt))

    async def _complete(self, call: Awaitable[Any]) -> None:
        try:
            await call
        except ResourceNotFoundError:
            pass  # message or queue gone: nothing left to do
        except HttpResponseError as exc:
            if exc.status_code != 400:  # 400: pop receipt mismatch, someone else owns it now
                log.warning("Queue '%s': %s", self.spec.queue, _short(exc))


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
