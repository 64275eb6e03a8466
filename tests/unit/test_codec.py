"""The request decoder: every input ends in a decoded request or an IngestError, never a crash or a hang."""

import gzip
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentwatch.collector._codec import IngestError, decode_request
from agentwatch.collector._spool import read_records, varint

LIMIT = 1 << 20


def _decode(body, content_type, encoding=""):
    try:
        return decode_request(body, content_type, encoding, LIMIT)
    except IngestError as exc:
        assert exc.status in (400, 413, 415)
        return None


@settings(max_examples=300, deadline=2000)
@given(
    st.binary(max_size=4096),
    st.sampled_from(["application/x-protobuf", "application/json"]),
    st.sampled_from(["", "gzip"]),
)
def test_random_bytes_never_crash(body, content_type, encoding):
    _decode(body, content_type, encoding)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=2000)
@given(st.dictionaries(st.sampled_from(["resourceSpans", "resource_spans", "x"]), json_values, max_size=2))
def test_random_json_documents_never_crash(document):
    _decode(json.dumps(document).encode(), "application/json")


@settings(max_examples=200, deadline=2000)
@given(
    st.lists(
        st.tuples(st.binary(min_size=0, max_size=20), st.binary(min_size=0, max_size=10), st.text(max_size=30)),
        max_size=20,
    )
)
def test_valid_requests_count_spans_and_rejections(spans):
    request = ExportTraceServiceRequest()
    target = request.resource_spans.add().scope_spans.add().spans
    for trace_id, span_id, name in spans:
        target.add(trace_id=trace_id, span_id=span_id, name=name)
    decoded = decode_request(gzip.compress(request.SerializeToString()), "application/x-protobuf", "gzip", LIMIT)
    assert decoded.spans == len(spans)
    assert decoded.rejected == sum(1 for t, s, _ in spans if len(t) != 16 or len(s) != 8)


def test_deeply_nested_json_is_a_400_not_a_crash():
    body = b'{"resourceSpans": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(IngestError) as info:
        decode_request(body, "application/json", "", 10 << 20)
    assert info.value.status == 400


@given(st.lists(st.binary(max_size=300), max_size=10), st.integers(min_value=0, max_value=50))
def test_spool_records_round_trip_and_torn_tails_are_cut(records, cut):
    data = b"".join(varint(len(r)) + r for r in records)
    assert read_records(data) == (records, len(data))
    torn = data[: max(0, len(data) - cut)]
    whole, end = read_records(torn)
    assert whole == records[: len(whole)] and end <= len(torn)
