"""The host <-> worker messages of FunctionRpc.proto that the Python worker's code builds and
reads, as plain objects: devhost passes this module where the real host's gRPC channel passes
the generated protobuf module (`protos`), so the worker's own indexing and converters run
unchanged. Field names and enum values are the proto's; the one difference is that a field is
not type-checked as protobuf would (the worker's converters check types before they get here).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, ClassVar


class Message:
    """A proto message: only its declared fields, by keyword (an unknown one is an error, as in
    protobuf); an unset field reads as protobuf's default (empty map or list, zero, "", None for
    a message). A subclass declares its fields by name in its class statement: plain fields
    default to None (scalars here are always set by their writer), `maps` to {}, `lists` to [],
    `oneof` are the fields of the message's one `oneof` group."""

    _fields: ClassVar[dict[str, Any]] = {}
    _oneof: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(
        cls, *, fields: str = "", maps: str = "", lists: str = "", oneof: str = "", **kw: Any
    ) -> None:
        super().__init_subclass__(**kw)
        declared: dict[str, Any] = dict.fromkeys(fields.split())
        declared.update({f: {} for f in maps.split()})
        declared.update({f: [] for f in lists.split()})
        cls._fields = declared
        cls._oneof = tuple(oneof.split())

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

    if TYPE_CHECKING:
        # Fields are set per message in __init__, so the checker sees each as Any.
        def __getattr__(self, name: str) -> Any: ...

    def WhichOneof(self, group: str) -> str | None:  # protobuf's spelling
        return next((f for f in self._oneof if getattr(self, f) is not None), None)

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{k}={v!r}" for k, v in vars(self).items() if v not in (None, "", {}, [])
        )
        return f"{type(self).__name__}({fields})"


class TypedData(
    Message,
    oneof="string json bytes stream http int double collection_bytes collection_string "
    "collection_double collection_sint64 model_binding_data collection_model_binding_data",
): ...


class ParameterBinding(Message, fields="name", oneof="data rpc_shared_memory"): ...


class RpcHttp(
    Message,
    fields="method url body status_code enable_content_negotiation rawBody",
    maps="headers params query nullable_headers nullable_params nullable_query",
    lists="identities cookies",
): ...


class RpcHttpCookie(
    Message, fields="name value domain path expires secure http_only same_site max_age"
):
    class SameSite:  # enum SameSite ("None" = 0 is a Python keyword, set below)
        Lax, Strict, ExplicitNone = 1, 2, 3


setattr(RpcHttpCookie.SameSite, "None", 0)


class RpcException(Message, fields="source stack_trace message is_user_exception type"): ...


class RpcFunctionMetadata(
    Message,
    fields="name directory script_file entry_point is_proxy status language function_id "
    "managed_dependency_enabled retry_options",
    maps="bindings properties",
    lists="raw_bindings",
): ...


class RpcRetryOptions(
    Message,
    fields="max_retry_count delay_interval minimum_interval maximum_interval retry_strategy",
): ...


class WorkerMetadata(
    Message,
    fields="runtime_name runtime_version worker_version worker_bitness",
    maps="custom_properties",
): ...


class WorkerInitRequest(
    Message,
    fields="host_version worker_directory function_app_directory",
    maps="capabilities log_categories",
): ...


class WorkerInitResponse(
    Message, fields="worker_version result worker_metadata", maps="capabilities"
): ...


class FunctionMetadataResponse(
    Message, fields="result use_default_metadata_indexing", lists="function_metadata_results"
): ...


class FunctionLoadResponse(Message, fields="function_id result is_dependency_downloaded"): ...


class FunctionEnvironmentReloadResponse(
    Message, fields="worker_metadata result", maps="capabilities"
): ...


class RpcTraceContext(Message, fields="trace_parent trace_state", maps="attributes"): ...


class RetryContext(Message, fields="retry_count max_retry_count exception"): ...


class InvocationRequest(
    Message,
    fields="invocation_id function_id trace_context retry_context",
    maps="trigger_metadata",
    lists="input_data",
): ...


class InvocationResponse(
    Message, fields="invocation_id return_value result", lists="output_data"
): ...


class StreamingMessage(Message, fields="request_id worker_init_request invocation_request"): ...


class NullableString(Message, fields="value"): ...


class NullableBool(Message, fields="value"): ...


class NullableDouble(Message, fields="value"): ...


class NullableTimestamp(Message, fields="value"): ...


class Timestamp(Message, fields="seconds nanos"): ...  # google.protobuf.Timestamp


class BindingInfo(Message, fields="type data_type direction", maps="properties"):
    # enum Direction (in = 0 is a Python keyword, set below) and enum DataType
    out, inout = 1, 2
    undefined, string, binary, stream = 0, 1, 2, 3


setattr(BindingInfo, "in", 0)


class StatusResult(Message, fields="status result exception", lists="logs"):
    Failure, Success, Cancelled = 0, 1, 2


class Request:
    """What the proxy worker hands the worker library: the host's StreamingMessage and the
    properties it shares (the host address and this protos module)."""

    def __init__(self, request: Message, properties: dict[str, Any] | None = None) -> None:
        self.request = request
        self.properties = properties or {}
