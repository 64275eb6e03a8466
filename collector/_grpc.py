"""OTLP/gRPC receiver: ``opentelemetry.proto.collector.trace.v1.TraceService/Export`` on grpc.aio."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

from agentwatch.auth import bearer_matches
from agentwatch.collector._codec import PROTOBUF, IngestError, decode_request, encode_response
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
        busy = collector.overloaded(len(body))
        if busy:
            collector.count_request(protocol, 503, reason="overloaded")
            context.set_trailing_metadata(_retry_details(busy, collector.retry_after))
            await context.abort(grpc.StatusCode.UNAVAILABLE, busy)
        loop = asyncio.get_running_loop()
        try:
            decoded = await loop.run_in_executor(
                collector.executor,
                decode_request,
                body,
                PROTOBUF,
                "",
                config.max_request_bytes,
                collector.time_window(),
            )
        except IngestError as exc:
            collector.count_request(protocol, exc.status, reason=exc.reason)
            await context.abort(_STATUS.get(exc.status, grpc.StatusCode.INVALID_ARGUMENT), str(exc))
        await loop.run_in_executor(collector.executor, collector.accept, decoded, protocol)
        collector.count_request(protocol, 200)
        return encode_response(False, decoded.rejected, decoded.message)

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
