"""OTLP/gRPC receiver: ``opentelemetry.proto.collector.trace.v1.TraceService/Export`` on grpc.aio."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

from agentwatch.auth import bearer_matches
from agentwatch.collector._codec import PROTOBUF, IngestError
from agentwatch.listen import address_taken

if TYPE_CHECKING:
    from agentwatch.collector.server import Collector

__all__ = ["start_grpc"]

_SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
_STATUS = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    415: grpc.StatusCode.INVALID_ARGUMENT,
}


def _retry_details(message: str, seconds: int) -> tuple[tuple[str, bytes], ...]:
    """google.rpc.Status with RetryInfo, which OTLP exporters read to pace their retries."""
    info = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=seconds))
    detail = any_pb2.Any()
    detail.Pack(info)
    status = status_pb2.Status(code=grpc.StatusCode.UNAVAILABLE.value[0], message=message, details=[detail])
    return (("grpc-status-details-bin", status.SerializeToString()),)


async def start_grpc(collector: Collector, address: str) -> tuple[grpc.aio.Server, int]:
    config = collector.config
    token = config.ingest_token

    async def export(body: bytes, context: grpc.aio.ServicerContext) -> bytes:
        protocol = "grpc"
        if token:
            sent = dict(context.invocation_metadata() or ()).get("authorization", "")
            if not bearer_matches(sent, token):
                collector.count_request(protocol, 401)
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")
        try:
            answer, _ = await collector.ingest(body, PROTOBUF, "", protocol)
        except IngestError as exc:
            if exc.status == 503:
                context.set_trailing_metadata(_retry_details(str(exc), collector.retry_after))
                await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
            await context.abort(_STATUS.get(exc.status, grpc.StatusCode.INVALID_ARGUMENT), str(exc))
        return answer

    handler = grpc.method_handlers_generic_handler(_SERVICE, {"Export": grpc.unary_unary_rpc_method_handler(export)})
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", config.max_request_bytes),
            ("grpc.max_send_message_length", 4 << 20),
        ]
    )
    server.add_generic_rpc_handlers((handler,))
    try:
        port = server.add_insecure_port(address)
    except RuntimeError:  # newer grpcio raises where older ones return 0
        port = 0
    if port == 0:
        raise address_taken("AGENTWATCH_COLLECTOR_GRPC", address)
    await server.start()
    return server, port
