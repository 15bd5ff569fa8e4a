"""Azure Functions entry point (Python v2 model): the triggers, each a few lines.

    POST /api/notifications   Graph change notifications -> user ids on the work queue (202)
    POST /api/lifecycle       Graph lifecycle notifications -> maintenance messages (202)
    (queue worker, poison-queue logger, timers and sync routes: see the markers below)

The HTTP functions here sit on Graph's 3-second path and run on every cold start, so this
module and what it imports stay light: no Graph SDK, azure-identity or storage client (a test
checks sys.modules). Those are imported inside the bodies of the functions that need them.
Payload rules live in reconciler/notify.py, the message schema in reconciler/queue.py.
"""

from __future__ import annotations

import json
import logging
import os

import azure.functions as func

from reconciler import notify
from reconciler import queue as work
from reconciler.settings import Settings, SettingsError

# Binding expressions (%NAME%) are resolved from settings; INTERFACES.md gives them their
# documented default at import so an unset one never breaks indexing.
os.environ.setdefault("USER_CHANGES_QUEUE", "user-changes")

app = func.FunctionApp()
log = logging.getLogger("reconciler.webhook")


# --- Graph webhooks --------------------------------------------------------------------------


@app.route(route="notifications", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@app.queue_output(
    arg_name="msg", queue_name="%USER_CHANGES_QUEUE%", connection="AzureWebJobsStorage"
)
def notifications(req: func.HttpRequest, msg: func.Out[list[str]]) -> func.HttpResponse:
    """Graph change notifications: validate, enqueue the changed users' ids, answer 202.

    If the output binding cannot write, the host answers 500 and Graph retries.
    """
    token = req.params.get("validationToken")
    if token is not None:  # before any body parsing: the validation POST body is not JSON
        return _handshake(token)
    correlation_id = work.new_correlation_id()
    try:
        batch = notify.read_change_notifications(
            req.get_body(), client_state=Settings.from_env().require("client_state")
        )
    except notify.NotificationError as error:
        return _rejected("notifications", correlation_id, error)
    except SettingsError as error:
        return _misconfigured("notifications", correlation_id, error)
    messages = work.users_messages(
        batch.user_ids, cause="notification", correlation_id=correlation_id
    )
    if messages:
        msg.set([work.encode(message) for message in messages])
    _record(
        "notifications",
        logging.WARNING if batch.rejected_client_state else logging.INFO,
        correlation_id,
        accepted=batch.accepted,
        rejectedClientState=batch.rejected_client_state,
        ignored=batch.ignored,
        unknownSubscriptions=batch.unknown_subscriptions,
        subscriptionIds=list(batch.subscription_ids),
        users=len(batch.user_ids),
        messages=len(messages),
    )
    return func.HttpResponse(status_code=202)


@app.route(route="lifecycle", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@app.queue_output(
    arg_name="msg", queue_name="%USER_CHANGES_QUEUE%", connection="AzureWebJobsStorage"
)
def lifecycle(req: func.HttpRequest, msg: func.Out[list[str]]) -> func.HttpResponse:
    """Graph lifecycle notifications: reauthorizationRequired queues a subscription renewal
    (never calls Graph here: the SDK stays off the 3-second path); others are logged."""
    token = req.params.get("validationToken")
    if token is not None:
        return _handshake(token)
    correlation_id = work.new_correlation_id()
    try:
        batch = notify.read_lifecycle_notifications(
            req.get_body(), client_state=Settings.from_env().require("client_state")
        )
    except notify.NotificationError as error:
        return _rejected("lifecycle", correlation_id, error)
    except SettingsError as error:
        return _misconfigured("lifecycle", correlation_id, error)
    messages = [
        work.maintenance_message(
            action, cause="notification", subscription_id=sub, correlation_id=correlation_id
        )
        for action, sub in batch.actions
    ]
    if messages:
        msg.set([work.encode(message) for message in messages])
    for notice in batch.notices:
        level = logging.INFO if notice.event == "reauthorizationRequired" else logging.WARNING
        _record(
            "lifecycle",
            level,
            correlation_id,
            lifecycleEvent=notice.event,
            subscriptionId=notice.subscription_id,
            action=notice.action,
            note=notice.note,
        )
    if batch.rejected_client_state:
        _record(
            "lifecycle",
            logging.WARNING,
            correlation_id,
            rejectedClientState=batch.rejected_client_state,
        )
    return func.HttpResponse(status_code=202)


# --- Queue worker: added with the reconcile service ------------------------------------------
# `process_user_changes`: queue trigger on %USER_CHANGES_QUEUE% (AzureWebJobsStorage); body via
# work.decode(); users -> service.reconcile_users, group -> the group run, maintenance ->
# ensure_subscription; a `notification` message enqueues one `recheck` after
# RECHECK_DELAY_SECONDS (storage client, not the binding); MessageError -> copy to the poison
# queue and complete. `log_poison_messages`: trigger on user-changes-poison, one record each.
# Graph SDK and storage imports go inside those function bodies.

# --- Timers: added with the reconcile service -------------------------------------------------
# `full_reconcile` (schedule %FULL_RECONCILE_SCHEDULE%, default set at import like the queue
# name above) and `subscription_upkeep` (create the users subscription if missing, renew early).

# --- On-demand sync routes: added with the reconcile service ----------------------------------
# POST sync/users/{id} (enqueue one users message, cause "sync") and POST sync/groups/{id}
# (enqueue a group message), both auth level FUNCTION.


# --- Answers and log records ----------------------------------------------------------------


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
    body = {"error": {"code": "InvalidNotification", "message": str(error), "where": error.where}}
    return func.HttpResponse(json.dumps(body), status_code=400, mimetype="application/json")


def _misconfigured(route: str, correlation_id: str, error: SettingsError) -> func.HttpResponse:
    # 500 so Graph keeps retrying (for up to 4 hours) while the setting is fixed; the setting's
    # name goes to the log, not to the caller.
    _record(route, logging.ERROR, correlation_id, settingsError=str(error))
    body = {"error": {"code": "Misconfigured", "message": f"see the logs for {correlation_id}"}}
    return func.HttpResponse(json.dumps(body), status_code=500, mimetype="application/json")


def _record(route: str, level: int, correlation_id: str, **fields: object) -> None:
    """One JSON record per webhook event; callers never pass clientState or tokens."""
    record = {"event": "webhook", "route": route, "correlationId": correlation_id, **fields}
    log.log(level, json.dumps(record, ensure_ascii=False))
