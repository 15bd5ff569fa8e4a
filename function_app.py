"""Azure Functions entry point (Python v2 model): the triggers, each a few lines.

    POST /api/notifications   Graph change notifications -> user ids on the work queue (202)
    POST /api/lifecycle       Graph lifecycle notifications -> maintenance messages (202)
    POST /api/sync/users/{id}, POST /api/sync/groups/{id}   queue one user / group now (202)
    GET /api/holds, GET /api/holds/{id}, POST /api/holds/{id}/approve|reject, GET /api/status
                              the operator's view and decisions (auth level ADMIN)
    GET|POST /api/console/... the operator console in the browser (Easy Auth + app roles)
    queue %USER_CHANGES_QUEUE%         the worker: re-read, converge, schedule one recheck
    queue %USER_CHANGES_QUEUE%-poison  one clear record per dead message
    timer full_reconcile (%FULL_RECONCILE_SCHEDULE%), timer subscription_upkeep (6-hourly)
    timer delta_catchup (%DELTA_CATCHUP_SCHEDULE%): users changed since the delta link

The HTTP functions here sit on Graph's 3-second path and run on every cold start, so this
module and what it imports stay light: no Graph SDK, azure-identity or storage client (a test
checks sys.modules). Those are imported inside the bodies of the functions that need them.
Payload rules live in reconciler/notify.py, the message schema in reconciler/work/message.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import List  # noqa: UP035 (see QueueOutput below)

import azure.functions as func

from reconciler import notify
from reconciler.object_id import is_object_id
from reconciler.operator_http import Answer
from reconciler.settings import Settings, SettingsError, webhook_client_state
from reconciler.structured_log import log_json
from reconciler.telemetry.setup import enable_from_env as enable_telemetry
from reconciler.work import message as work

# Binding expressions (%USER_CHANGES_QUEUE%, the two schedules) are resolved by the
# Functions host from its app settings (local.settings.json Values under `func start`), never
# from what this module could put into os.environ: the host runs in another process. So both
# settings must be app settings; local.settings.sample.json and the README's list carry them.

# The worker's indexing (azure_functions_worker 4.x, azure-functions-runtime) accepts only
# typing generics inside func.Out: `func.Out[list[str]]` fails with "invalid non-type
# annotation" and takes the whole app down. tests/devhost/test_worker_indexing.py guards it.
QueueOutput = func.Out[List[str]]  # noqa: UP006

app = func.FunctionApp()
log = logging.getLogger("reconciler.webhook")


# --- Graph webhooks --------------------------------------------------------------------------


@app.route(route="notifications", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@app.queue_output(
    arg_name="msg", queue_name="%USER_CHANGES_QUEUE%", connection="AzureWebJobsStorage"
)
def notifications(
    req: func.HttpRequest, msg: QueueOutput, context: func.Context
) -> func.HttpResponse:
    """Graph change notifications (lifecycle items too: the two may share one URL and one
    POST): queue the good items, drop and count the others, answer 202."""
    return _webhook("notifications", req, msg, context)


@app.route(route="lifecycle", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@app.queue_output(
    arg_name="msg", queue_name="%USER_CHANGES_QUEUE%", connection="AzureWebJobsStorage"
)
def lifecycle(req: func.HttpRequest, msg: QueueOutput, context: func.Context) -> func.HttpResponse:
    """Graph lifecycle notifications (change items too): each event becomes a maintenance
    message the worker acts on (never Graph here: the SDK stays off the 3-second path)."""
    return _webhook("lifecycle", req, msg, context)


# --- Queue worker ------------------------------------------------------------------------------


@app.queue_trigger(
    arg_name="message", queue_name="%USER_CHANGES_QUEUE%", connection="AzureWebJobsStorage"
)
async def process_user_changes(message: func.QueueMessage) -> None:
    """Re-read the named users (or groups) and converge; raising hands the message back to
    the host, which retries it and finally moves it to the poison queue."""
    from reconciler.work.storage import StorageWorkQueue
    from reconciler.work.worker import process_message

    enable_telemetry()
    settings = Settings.from_env()
    outcome = await process_message(
        message.get_body().decode("utf-8", errors="replace"),
        settings,
        StorageWorkQueue.from_settings(settings),
    )
    _record(
        "queue",
        logging.INFO,
        message.id or "",
        kind=outcome.kind,
        outcome=outcome.outcome.kind,
        exitCode=outcome.exit_code,
        dequeueCount=message.dequeue_count,
        detail=outcome.detail,
    )


@app.queue_trigger(
    arg_name="message", queue_name="%USER_CHANGES_QUEUE%-poison", connection="AzureWebJobsStorage"
)
def log_poison_message(message: func.QueueMessage) -> None:
    """One clear record per dead message, so an operator sees what was given up on."""
    body = message.get_body().decode("utf-8", errors="replace")
    _record(
        "poison",
        logging.ERROR,
        message.id or "",
        dequeueCount=message.dequeue_count,
        body=body[:2000],
        hint="fix the cause, then re-send the body to the work queue",
    )


# --- Timers ------------------------------------------------------------------------------------


@app.timer_trigger(arg_name="timer", schedule="%FULL_RECONCILE_SCHEDULE%", run_on_startup=False)
async def full_reconcile(timer: func.TimerRequest) -> None:
    """Repair drift: missed notifications, rule edits, manual changes, `system.now` rules."""
    from reconciler.graph import open_directory
    from reconciler.policy import load_policy
    from reconciler.service import RunOptions, reconcile_all
    from reconciler.settings import rules_file
    from reconciler.state.tables import shared_state

    enable_telemetry()
    settings = Settings.from_env()
    async with open_directory(settings) as directory, shared_state(settings) as state:
        options = RunOptions.from_settings(settings)
        report = await reconcile_all(
            directory, load_policy(rules_file()), settings, options=options, state=state
        )
    _record(
        "full_reconcile",
        logging.INFO,
        report.correlation_id,
        exitCode=report.exit_code,
        pastDue=timer.past_due,
    )


@app.timer_trigger(arg_name="timer", schedule="0 0 */6 * * *", run_on_startup=True)
async def subscription_upkeep(timer: func.TimerRequest) -> None:
    """Create the users subscription if missing and renew it well before it expires."""
    from reconciler.graph import open_directory
    from reconciler.service import upkeep

    enable_telemetry()
    settings = Settings.from_env()
    async with open_directory(settings) as directory:
        result = await upkeep(directory, settings)
    done = result.outcome.kind == "done"
    _record(
        "subscription_upkeep",
        logging.INFO if done else logging.ERROR,
        "",
        outcome=result.outcome.reason,
    )
    if not done:  # the host records a failed invocation; the next run (6-hourly) tries again
        raise RuntimeError(f"subscription upkeep {result.outcome.kind}: {result.outcome.reason}")
    if result.subscription is not None and result.subscription.created:
        await delta_catchup_now(settings, "recreated")  # the gap had no subscription


@app.timer_trigger(arg_name="timer", schedule="%DELTA_CATCHUP_SCHEDULE%", run_on_startup=False)
async def delta_catchup(timer: func.TimerRequest) -> None:
    """Safety net between full runs: queue the users changed since the saved delta link."""
    enable_telemetry()
    await delta_catchup_now(Settings.from_env(), "schedule", past_due=timer.past_due)


async def delta_catchup_now(settings: Settings, reason: str, *, past_due: bool = False) -> None:
    """One catch-up (reconciler/service/catchup.py); a retryable failure fails the run."""
    from reconciler.policy import load_policy
    from reconciler.service.lifecycle import run_catchup
    from reconciler.settings import rules_file

    result = await run_catchup(settings, load_policy(rules_file()), reason)
    retry = result.outcome.kind == "retry"
    _record(
        "delta_catchup",
        logging.ERROR if retry else logging.INFO,
        result.correlation_id,
        reason=reason,
        kind=result.kind,
        users=result.users,
        messages=result.messages,
        outcome=result.outcome.kind,
        pastDue=past_due,
    )
    if retry:  # the next period tries again; the host records the failed run
        raise RuntimeError(f"delta catch-up: {result.outcome.reason}")


# --- On-demand sync ----------------------------------------------------------------------------


@app.route(route="sync/users/{id}", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@app.queue_output(
    arg_name="msg", queue_name="%USER_CHANGES_QUEUE%", connection="AzureWebJobsStorage"
)
def sync_user(req: func.HttpRequest, msg: QueueOutput) -> func.HttpResponse:
    """Re-evaluate one user now (Entra cannot): enqueue it for the worker, answer 202."""
    return _enqueue_sync(req, msg, work.users_messages)


@app.route(route="sync/groups/{id}", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@app.queue_output(
    arg_name="msg", queue_name="%USER_CHANGES_QUEUE%", connection="AzureWebJobsStorage"
)
def sync_group(req: func.HttpRequest, msg: QueueOutput) -> func.HttpResponse:
    """Reconcile one group now; a group run can outlast an HTTP answer, so it is queued."""
    return _enqueue_sync(req, msg, work.group_messages)


# --- Operator: holds and status (ADMIN: the host's master key) ---------------------------------


@app.route(route="holds", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
async def list_holds(req: func.HttpRequest) -> func.HttpResponse:
    """`{"holds": [...]}`, newest first; `?status=pending|approving|approved|rejected`."""
    from reconciler.operator_http import holds_answer

    return _json(await holds_answer(Settings.from_env(), req.params.get("status")))


@app.route(route="holds/{id}", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
async def show_hold(req: func.HttpRequest) -> func.HttpResponse:
    """One hold with its users and their reasons."""
    from reconciler.operator_http import hold_answer

    return _json(await hold_answer(Settings.from_env(), req.route_params["id"]))


@app.route(route="holds/{id}/{action}", methods=["POST"], auth_level=func.AuthLevel.ADMIN)
async def decide_hold(req: func.HttpRequest) -> func.HttpResponse:
    """approve (re-read, remove those the rules still remove) or reject; body `{"by": ...}`."""
    from reconciler.operator_http import decide_answer, decider

    enable_telemetry()  # an approval's removals are audited changes
    by = decider(req.get_body(), dict(req.headers))
    answer = await decide_answer(
        Settings.from_env(), req.route_params["id"], req.route_params["action"], by
    )
    return _json(answer)


@app.route(route="status", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
async def status(req: func.HttpRequest) -> func.HttpResponse:
    """Per group: members, last verified, lag, last change, pending hold, last error."""
    from reconciler.operator_http import status_answer

    return _json(await status_answer(Settings.from_env()))


# --- Operator console (HTML; App Service Authentication in front, app roles checked inside) ---


@app.route(route="console/{*path}", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
async def console(req: func.HttpRequest) -> func.HttpResponse:
    """Groups, a group's rule and history, the rule tester, holds (reconciler/console/)."""
    from reconciler.console.routes import respond
    from reconciler.console.web import ConsoleRequest

    enable_telemetry()  # approvals from the console are audited changes too
    page = await respond(
        ConsoleRequest(
            req.method,
            req.url,
            req.route_params.get("path", ""),
            dict(req.headers),
            dict(req.params),
            req.get_body(),
        )
    )
    return func.HttpResponse(
        page.body,
        status_code=page.status,
        mimetype=page.content_type,
        charset="utf-8",
        headers=page.all_headers(),
    )


# --- Answers and log records ----------------------------------------------------------------


def _json(answer: Answer) -> func.HttpResponse:
    return func.HttpResponse(answer.text(), status_code=answer.status, mimetype="application/json")


def _enqueue_sync(
    req: func.HttpRequest, msg: QueueOutput, build: Callable[..., Sequence[work.Message]]
) -> func.HttpResponse:
    correlation_id = work.new_correlation_id()
    object_id = req.route_params["id"]
    try:
        if not is_object_id(object_id):
            raise work.MessageError(f"{object_id[:80]!r} is not an object id (a GUID)")
        [message] = build([object_id], cause="sync", correlation_id=correlation_id)
    except work.MessageError as error:
        body = {"error": {"code": "InvalidId", "message": str(error)}}
        return func.HttpResponse(json.dumps(body), status_code=400, mimetype="application/json")
    msg.set([work.encode(message)])
    _record("sync", logging.INFO, correlation_id, kind=type(message).__name__)
    queued = {"status": "queued", "correlationId": correlation_id}
    return func.HttpResponse(json.dumps(queued), status_code=202, mimetype="application/json")


def _webhook(
    route: str, req: func.HttpRequest, msg: QueueOutput, context: func.Context
) -> func.HttpResponse:
    """Validate each item on its own, hand every good one to the queue output binding, then
    record what was handed over. The host writes the binding after this returns and answers
    500 if it cannot (Graph retries), so a good item is either queued or retried. The
    correlation id is the invocation's trace id: one operation in Application Insights."""
    token = req.params.get("validationToken")
    if token is not None:  # before any body parsing: the validation POST body is not JSON
        return _handshake(token)
    correlation_id = work.new_correlation_id(context.trace_context.trace_parent)
    try:
        batch = notify.read_notifications(req.get_body(), client_state=webhook_client_state())
    except notify.NotificationError as error:
        return _rejected(route, correlation_id, error)
    except SettingsError as error:
        return _misconfigured(route, correlation_id, error)
    messages: list[work.Message] = [
        *work.users_messages(batch.user_ids, cause="notification", correlation_id=correlation_id),
        *(
            work.maintenance_message(
                action, cause="notification", subscription_id=sub, correlation_id=correlation_id
            )
            for action, sub in batch.actions
        ),
    ]
    if messages:
        msg.set([work.encode(message) for message in messages])
    _record(
        route,
        logging.WARNING if batch.rejected else logging.INFO,
        correlation_id,
        accepted=batch.accepted,
        dropped=batch.rejected,
        droppedBy=dict(batch.dropped),
        ignored=batch.ignored,
        subscriptionIds=list(batch.subscription_ids),
        queuedUsers=len(batch.user_ids),
        queuedActions=[action for action, _ in batch.actions],
        queuedMessages=len(messages),
    )
    for notice in batch.notices:
        level = logging.INFO if notice.event == "reauthorizationRequired" else logging.WARNING
        _record(
            route,
            level,
            correlation_id,
            lifecycleEvent=notice.event,
            subscriptionId=notice.subscription_id,
            action=notice.action,
            note=notice.note,
        )
    return func.HttpResponse(status_code=202)


def _handshake(token: str) -> func.HttpResponse:
    answer = notify.handshake(token)
    return func.HttpResponse(
        answer.body,
        status_code=answer.status,
        mimetype=answer.mimetype,
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff"},  # graph-facts.md §2: never rendered
    )


def _rejected(
    route: str, correlation_id: str, error: notify.NotificationError
) -> func.HttpResponse:
    _record(route, logging.WARNING, correlation_id, rejected=str(error))
    too_large = isinstance(error, notify.BodyTooLarge)
    code = "PayloadTooLarge" if too_large else "InvalidNotification"
    body = {"error": {"code": code, "message": str(error), "where": error.where}}
    return func.HttpResponse(
        json.dumps(body), status_code=413 if too_large else 400, mimetype="application/json"
    )


def _misconfigured(route: str, correlation_id: str, error: SettingsError) -> func.HttpResponse:
    # 500 so Graph keeps retrying (for up to 4 hours) while the setting is fixed; the setting's
    # name goes to the log, not to the caller.
    _record(route, logging.ERROR, correlation_id, settingsError=str(error))
    body = {"error": {"code": "Misconfigured", "message": f"see the logs for {correlation_id}"}}
    return func.HttpResponse(json.dumps(body), status_code=500, mimetype="application/json")


def _record(route: str, level: int, correlation_id: str, **fields: object) -> None:
    """One JSON record per webhook event (fields that look like secrets are dropped)."""
    record = {"event": "webhook", "route": route, "correlationId": correlation_id, **fields}
    log_json(log, level, record)
