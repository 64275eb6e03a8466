"""The writer thread: spool segments into ClickHouse, in order, off the event loop."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentwatch.collector._insert import OtlpInserter, is_transient
from agentwatch.collector._metrics import Metrics
from agentwatch.collector._spool import Segment, Spool, count_spans, is_disk_error, read_records, varint
from agentwatch.errors import QueryError

__all__ = ["Writer"]

log = logging.getLogger("agentwatch.collector")

_RELEASE_EVERY = 1.0  # seconds between returns of freed memory to the system (one takes ~10-80 ms)
MAX_RESTARTS = 5  # a writer thread that dies is started again this many times (with back-off), then health fails


def passing(exc: BaseException) -> bool:
    """A failure that says "not now": the store is away or busy, or a disk (the spool's or the store's) is full.
    Only ClickHouse refusing the data itself is a reason to set it aside."""
    return is_disk_error(exc) or not isinstance(exc, QueryError) or is_transient(exc)


def _span_count(record: bytes) -> int:
    try:
        return count_spans(record)
    except DecodeError:
        return 0


def _last_span_ids(segment: Segment) -> tuple[str, str] | None:
    records, _ = read_records(segment.path.read_bytes())
    for record in reversed(records):
        request = ExportTraceServiceRequest()
        request.ParseFromString(record)
        for rs in reversed(request.resource_spans):
            for ss in reversed(rs.scope_spans):
                for span in reversed(ss.spans):
                    if len(span.trace_id) == 16 and len(span.span_id) == 8:
                        return span.trace_id.hex(), span.span_id.hex()
    return None


def _says_disk_full(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "no space left" in text or "disk quota exceeded" in text or "not_enough_space" in text


def _canonical(record: bytes) -> bytes:
    """A request as Python's protobuf writes it: one value per oneof, booleans as 0/1, unknown fields dropped.
    Protobuf parsers accept more wire forms than ClickHouse's reader (found by mutating valid requests)."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(record)
    request.DiscardUnknownFields()
    return request.SerializeToString()


class Writer:
    """Writer threads, each with its own store client: each takes the oldest closed segment, inserts it, and only
    then removes it from disk. Two threads keep both cores busy: one parses and maps while the other's insert
    finishes."""

    def __init__(
        self,
        spool: Spool,
        inserters: list[OtlpInserter],
        metrics: Metrics,
        *,
        retry_min: float = 0.2,
        retry_max: float = 5.0,
    ) -> None:
        self.spool = spool
        self.inserters = inserters
        self.inserter = inserters[0]
        self._threads = [
            threading.Thread(target=self._supervised, args=(i,), name=f"agentwatch-writer-{i}", daemon=True)
            for i in range(len(inserters))
        ]
        self.metrics = metrics
        self.retry_min = retry_min
        self.retry_max = retry_max
        self.store_up = True
        self.last_error = ""
        self._stopping = threading.Event()
        self._drain_deadline = float("inf")
        self._retry_delay = retry_min
        self._failed: set[int] = set()  # segments that failed once: written later counts as replayed
        self._failed_lock = threading.Lock()
        self._released = 0.0
        self._release_lock = threading.Lock()
        self._per_record: set[int] = set()  # segments ClickHouse refused whole: written request by request
        self.deaths: dict[str, str] = {}  # thread → its last unexpected exception (cleared when it runs again)
        self.dead: dict[str, str] = {}  # threads that died more than MAX_RESTARTS times: health fails
        self.restarts = 0

    def start(self) -> None:
        """Start the writer threads; the first checks segments an earlier process left mid-insert (off the caller's
        thread: a store that is down or a damaged segment never holds up start-up)."""
        for thread in self._threads:
            thread.start()

    def join(self, timeout: float | None = None) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def is_alive(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def stop(self, drain_timeout: float) -> None:
        """Write what is spooled (until the timeout), then end. Unwritten segments stay on disk for the restart."""
        self.spool.close_open()
        self._drain_deadline = time.monotonic() + drain_timeout
        self._stopping.set()
        with self.spool.changed:
            self.spool.changed.notify_all()

    def _supervised(self, index: int) -> None:
        """The thread's work, started again (bounded, with back-off) when an unexpected error ends it; every death
        is logged, counted and shown by health, never silent."""
        name = threading.current_thread().name
        for attempt in range(MAX_RESTARTS + 1):
            try:
                if index == 0 and attempt == 0:
                    self._check_recovered()
                self._loop(index)
                return
            except Exception as exc:
                self.deaths[name] = f"{type(exc).__name__}: {exc}"
                self.metrics.inc("agentwatch_collector_thread_deaths_total", thread=name)
                log.error("writer thread %s died: %r", name, exc, exc_info=exc)
                if attempt == MAX_RESTARTS or self._stopping.is_set():
                    break
                self.restarts += 1
                self._stopping.wait(min(30.0, 0.5 * 2**attempt))
                self.deaths.pop(name, None)
        self.dead[name] = self.deaths.get(name, "stopped")
        log.error("writer thread %s gave up after %d restarts; the collector's health is failing", name, MAX_RESTARTS)

    def _loop(self, index: int) -> None:
        inserter = self.inserters[index]
        while True:
            if self._stopping.is_set():
                self.spool.close_open()
                if self.spool.ready_segments == 0 or time.monotonic() > self._drain_deadline:
                    break
            segment = self.spool.next_ready(timeout=0.25)
            if segment is not None:
                self._write(segment, inserter)
        left = self.spool.pending_spans
        if left and index == 0:
            log.warning(
                "stopping with %d span(s) still in the spool at %s; they are written on the next start",
                left,
                self.spool.directory,
            )

    # -- internals --------------------------------------------------------------------------------
    def _check_recovered(self) -> None:
        """Segments whose insert was under way when the process died: all are inserted again. The insert's
        deduplication token makes that exact — a table the first attempt reached keeps its rows once, a table it
        did not reach (a materialized view's target, when the crash fell between otel_traces and the views) gets
        them. A segment whose last span is in otel_traces is not counted as replayed."""
        for segment in list(self.spool.recovered):
            try:
                ids = _last_span_ids(segment)
            except (DecodeError, OSError) as exc:  # damaged: it cannot say; it is written (or set aside) like any
                log.warning("spool segment %s is damaged (%s); writing what it holds", segment.path.name, exc)
                ids = None
            while not self._stopping.is_set():
                try:
                    stored = ids is not None and self.inserter.contains(*ids)
                    break
                except Exception as exc:
                    self._note_failure(exc)
                    self._stopping.wait(self._retry_delay)
            else:
                return
            self.spool.recovered.remove(segment)
            if stored:
                log.info(
                    "spool segment %s was stored before the restart; inserting it again so every derived table has "
                    "it (the deduplication token keeps what is there once)",
                    segment.path.name,
                )
            else:
                self._failed.add(segment.seq)
            restored = Segment(segment.seq, segment.spans, segment.path.with_suffix(".ready"))
            segment.path.rename(restored.path)
            self.spool.requeue(restored, new_bytes=True)

    def _note_failure(self, exc: BaseException) -> None:
        what = "a disk is full or failing" if is_disk_error(exc) or _says_disk_full(exc) else "the store is unavailable"
        if self.store_up:
            log.warning("%s (%s); spooling to %s and retrying", what, exc, self.spool.directory)
        self.store_up = False
        self.last_error = f"{what}: {exc}"
        self._retry_delay = min(self.retry_max, self._retry_delay * 2)

    def _write(self, segment: Segment, inserter: OtlpInserter) -> None:
        try:
            active = self.spool.begin(segment)
        except OSError as exc:  # the spool's disk: the segment waits in line
            self.spool.requeue(segment)
            self._later(segment, exc)
            return
        started = time.perf_counter()
        try:
            if segment.seq in self._per_record:
                self._write_records(active, inserter)
                return
            inserter.insert(active.path)
        except Exception as exc:
            if passing(exc):
                self.spool.retry_later(active)
                self._later(segment, exc)
                return
            log.error(
                "ClickHouse refused spool segment %s (%s); writing its requests one by one", active.path.name, exc
            )
            self._per_record.add(segment.seq)
            try:
                self._write_records(active, inserter)
            except Exception as again:
                if not passing(again):
                    raise
                self.spool.retry_later(active)
                self._later(segment, again)
            return
        self.metrics.observe_write(time.perf_counter() - started)
        self._written(active)
        self._release_memory(inserter)

    def _later(self, segment: Segment, exc: BaseException) -> None:
        """A passing failure: count the spill once per segment, note it for health, wait before the next try (waking
        up to finish a shutdown that has given up on the store)."""
        with self._failed_lock:
            first_failure = segment.seq not in self._failed
            self._failed.add(segment.seq)
        if first_failure:
            self.metrics.inc("agentwatch_collector_batches_spilled_total")
        self._note_failure(exc)
        if not self._stopping.is_set():
            self._stopping.wait(self._retry_delay)
        else:
            time.sleep(min(self._retry_delay, max(0.0, self._drain_deadline - time.monotonic())))

    def _release_memory(self, inserter: OtlpInserter) -> None:
        with self._release_lock:
            now = time.monotonic()
            if now - self._released < _RELEASE_EVERY:
                return
            self._released = now
        try:
            inserter.release_memory()
        except Exception as exc:  # only memory is at stake: say so once, stop trying
            log.info("cannot hand freed memory back to the system (%s); RSS will track the largest inserts", exc)
            self._released = float("inf")

    def _written(self, segment: Segment) -> None:
        if not self.store_up:
            log.info("the store is back; writing the spool")
        self.store_up = True
        self._retry_delay = self.retry_min
        self._per_record.discard(segment.seq)
        self.metrics.inc("agentwatch_collector_spans_written_total", segment.spans)
        self.metrics.inc("agentwatch_collector_batches_written_total")
        with self._failed_lock:
            replayed = segment.seq in self._failed
            self._failed.discard(segment.seq)
        if replayed:
            self.metrics.inc("agentwatch_collector_batches_replayed_total")
        self.spool.finish(segment)

    @staticmethod
    def _insert_record(single: Path, record: bytes, canonical: bytes, inserter: OtlpInserter) -> None:
        """One request on its own; if ClickHouse refuses it, once more as Python's protobuf writes it again.

        Protobuf parsers accept wire forms that ClickHouse's reader refuses — a oneof with two values (the last one
        wins), unknown fields of unexpected wire types — so an acknowledged request can be stored in its canonical
        form (found by mutating valid requests: 5 of 579 that the collector accepted).
        """
        single.write_bytes(varint(len(record)) + record)
        try:
            inserter.insert(single)
            return
        except Exception as exc:
            if canonical == record or passing(exc):
                raise
            single.write_bytes(varint(len(canonical)) + canonical)
            inserter.insert(single)

    def _write_records(self, segment: Segment, inserter: OtlpInserter) -> None:
        """A segment ClickHouse refuses: store what it can, request by request; keep the rest aside, counted, with
        the reason — ClickHouse refused it, the request is corrupt, or the segment's tail is torn (the requests
        before the damage are stored). A passing failure (the store away, a disk full) is raised: the segment is
        tried again later, in this mode, and the requests already stored are not stored twice (each request's
        deduplication token is its bytes')."""
        data = segment.path.read_bytes()
        records, end = read_records(data)
        refused: list[bytes] = []
        reasons: list[str] = []
        refused_spans = 0
        if end < len(data):
            refused.append(data[end:])
            reasons.append(f"torn: {len(data) - end} byte(s) after the last whole request (cut off mid-write)")
            self.metrics.inc("agentwatch_collector_corrupt_records_total", reason="torn")
        canonical: list[bytes | None] = []
        for record in records:
            try:
                canonical.append(_canonical(record))
            except DecodeError:
                canonical.append(None)
        if None not in canonical and canonical != records:  # first the whole segment as protobuf writes it
            whole = segment.path.with_name(f"{segment.seq:012d}.canonical")
            try:
                whole.write_bytes(b"".join(varint(len(r)) + r for r in canonical if r is not None))
                inserter.insert(whole)
                self._written(segment)
                return
            except Exception as exc:
                if passing(exc):
                    raise
                log.error("ClickHouse refused spool segment %s in canonical form too (%s)", segment.path.name, exc)
            finally:
                whole.unlink(missing_ok=True)
        for i, (record, rewritten) in enumerate(zip(records, canonical, strict=True)):
            if rewritten is None:
                refused.append(record)
                reasons.append("corrupt: the request does not parse as OTLP")
                self.metrics.inc("agentwatch_collector_corrupt_records_total", reason="corrupt")
                log.error("spool segment %s holds a corrupt request (#%d); setting it aside", segment.path.name, i)
                continue
            single = segment.path.with_name(f"{segment.seq:012d}.{i}.single")
            try:
                self._insert_record(single, record, rewritten, inserter)
                self.metrics.inc("agentwatch_collector_spans_written_total", _span_count(record))
            except Exception as exc:
                if passing(exc):
                    raise
                refused.append(record)
                reasons.append(f"ClickHouse refused it: {exc}")
                spans = _span_count(record)
                refused_spans += spans
                self.metrics.inc("agentwatch_collector_spans_rejected_total", spans, reason="store_rejected")
                log.error("ClickHouse refused a request of %d span(s): %s", spans, exc)
            finally:
                single.unlink(missing_ok=True)
        self._per_record.discard(segment.seq)
        if refused:
            segment.path.write_bytes(b"".join(varint(len(r)) + r for r in refused))  # a torn tail as one record
            kept, deleted = self.spool.reject(segment, reasons, refused_spans)
            log.error(
                "kept %d refused request(s) in %s for inspection (why: %s)",
                len(refused),
                kept,
                kept.with_suffix(".json"),
            )
            if deleted:
                self.metrics.inc("agentwatch_collector_rejected_deleted_spans_total", deleted)
                log.warning(
                    "deleted the oldest refused requests (%d span(s)) to keep rejected/ under %d bytes "
                    "(AGENTWATCH_REJECTED_MAX_BYTES)",
                    deleted,
                    self.spool.rejected_max_bytes,
                )
        else:
            self.spool.finish(segment)
