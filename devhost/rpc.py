"""The host <-> worker messages of FunctionRpc.proto that the Python worker's code builds and
reads, as plain objects: devhost passes this module where the real host's gRPC channel passes
the generated protobuf module (`protos`), so the worker's own indexing and converters run
unchanged. Field names and enum values are the proto's; the one difference is that a field is
not type-checked as protobuf would (the worker's converters check types before they get here).
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar


class Message:
    """A proto message: only its declared fields, by keyword (an unknown one is an error, as in
    protobuf); an unset field reads as protobuf's default (empty map or list, zero, "", None for
    a message)."""

    _fields: ClassVar[dict[str, Any]] = {}
    _oneof: ClassVar[tuple[str, ...]] = ()  # the fields of the message's one `oneof` group

    def __init__(self, **fields: Any) -> None:
        unknown = set(fields) - set(self._fields) - set(self._oneof)
        if unknown:
            raise ValueError(
                f'Protocol message {type(self).__name__} has no "{unknown.pop()}" field.'
            )
        for name, default in self._fields.items():
            value = fields.get(name)
            setattr(self, name, value if value is not None else copy.copy(default))
        for name in self._oneof:
            setattr(self, name, fields.get(name))

    def WhichOneof(self, group: str) -> str | None:  # protobuf's spelling
        return next((f for f in self._oneof if getattr(self, f) is not None), None)

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{k}={v!r}" for k, v in vars(self).items() if v not in (None, "", {}, [])
        )
        return f"{type(self).__name__}({fields})"


def _message(
    name: str, fields: str = "", *, maps: str = "", lists: str = "", oneof: str = ""
) -> type[Message]:
    """A message class from its field names: plain fields default to None (scalars here are
    always set by their writer), `maps` to {}, `lists` to []."""
    declared: dict[str, Any] = dict.fromkeys(fields.split())
    declared.update({f: {} for f in maps.split()})
    declared.update({f: [] for f in lists.split()})
    return type(name, (Message,), {"_fields": declared, "_oneof": tuple(oneof.split())})


TypedData = _message(
    "TypedData",
    oneof="string json bytes stream http int double collection_bytes collection_string "
    "collection_double collection_sint64 model_binding_data collection_model_binding_data",
)
ParameterBinding = _message("ParameterBinding", "name", oneof="data rpc_shared_memory")
RpcHttp = _message(
    "RpcHttp",
    "method url body status_code enable_content_negotiation rawBody",
    maps="headers params query nullable_headers nullable_params nullable_query",
    lists="identities cookies",
)
RpcHttpCookie = _message(
    "RpcHttpCookie", "name value domain path expires secure http_only same_site max_age"
)
RpcException = _message("RpcException", "source stack_trace message is_user_exception type")
RpcFunctionMetadata = _message(
    "RpcFunctionMetadata",
    "name directory script_file entry_point is_proxy status language function_id "
    "managed_dependency_enabled retry_options",
    maps="bindings properties",
    lists="raw_bindings",
)
RpcRetryOptions = _message(
    "RpcRetryOptions",
    "max_retry_count delay_interval minimum_interval maximum_interval retry_strategy",
)
WorkerMetadata = _message(
    "WorkerMetadata",
    "runtime_name runtime_version worker_version worker_bitness",
    maps="custom_properties",
)
WorkerInitRequest = _message(
    "WorkerInitRequest",
    "host_version worker_directory function_app_directory",
    maps="capabilities log_categories",
)
WorkerInitResponse = _message(
    "WorkerInitResponse", "worker_version result worker_metadata", maps="capabilities"
)
FunctionMetadataResponse = _message(
    "FunctionMetadataResponse",
    "result use_default_metadata_indexing",
    lists="function_metadata_results",
)
FunctionLoadResponse = _message(
    "FunctionLoadResponse", "function_id result is_dependency_downloaded"
)
FunctionEnvironmentReloadResponse = _message(
    "FunctionEnvironmentReloadResponse", "worker_metadata result", maps="capabilities"
)
RpcTraceContext = _message("RpcTraceContext", "trace_parent trace_state", maps="attributes")
RetryContext = _message("RetryContext", "retry_count max_retry_count exception")
InvocationRequest = _message(
    "InvocationRequest",
    "invocation_id function_id trace_context retry_context",
    maps="trigger_metadata",
    lists="input_data",
)
InvocationResponse = _message(
    "InvocationResponse", "invocation_id return_value result", lists="output_data"
)
StreamingMessage = _message("StreamingMessage", "request_id worker_init_request invocation_request")
NullableString = _message("NullableString", "value")
NullableBool = _message("NullableBool", "value")
NullableDouble = _message("NullableDouble", "value")
NullableTimestamp = _message("NullableTimestamp", "value")
Timestamp = _message("Timestamp", "seconds nanos")  # google.protobuf.Timestamp


class BindingInfo(_message("BindingInfo", "type data_type direction", maps="properties")):  # type: ignore[misc]  # a base made at run time
    # enum Direction (in = 0 is a Python keyword, set below) and enum DataType
    out, inout = 1, 2
    undefined, string, binary, stream = 0, 1, 2, 3


setattr(BindingInfo, "in", 0)


class StatusResult(_message("StatusResult", "status result exception", lists="logs")):  # type: ignore[misc]  # a base made at run time
    Failure, Success, Cancelled = 0, 1, 2


class _SameSite:
    Lax, Strict, ExplicitNone = 1, 2, 3


setattr(_SameSite, "None", 0)
RpcHttpCookie.SameSite = _SameSite  # type: ignore[attr-defined]  # nested enum, set late


class Request:
    """What the proxy worker hands the worker library: the host's StreamingMessage and the
    properties it shares (the host address and this protos module)."""

    def __init__(self, request: Message, properties: dict[str, Any] | None = None) -> None:
        self.request = request
        self.properties = properties or {}
