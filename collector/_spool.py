"""The collector's write-ahead spool: every accepted request is on disk before it is acknowledged.

Requests are appended, length-delimited, to an open *segment*; a segment is closed when it holds a batch's
worth of spans or has waited long enough, and is then one ``INSERT … SELECT`` into ClickHouse, which reads the
file directly in its ``Protobuf`` format. A segment leaves the disk only once it is stored, so a store outage
leaves segments waiting in order (the spill), and a crash leaves them for the restart (the replay).

File names: ``SEQ.open`` (being appended), ``SEQ-SPANS.ready`` (closed, waiting), ``SEQ-SPANS.inserting`` (an
insert is under way: after a crash it may or may not have landed), ``rejected/…`` (ClickHouse refused it).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

__all__ = ["DISK_ERRNOS", "Segment", "Spool", "SpoolFull", "is_disk_error", "read_records", "varint"]

log = logging.getLogger("agentwatch.collector")

# what a local disk says when it cannot take more (full, over quota, failing, remounted read-only): not a reason to
# lose or set aside anything; the collector answers 503 and the writer waits
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EFBIG})


def is_disk_error(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in DISK_ERRNOS


class SpoolFull(Exception):
    """The spool's disk refused a write (full, over quota, failing): back-pressure. The request was not kept, the
    segment holds exactly the requests acknowledged before it."""


_MAX_SEGMENT_BYTES = 32 << 20  # one segment is one insert: its bytes bound the insert's memory, whatever the span size


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int] | None:
    shift = value = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
    return None


def read_records(data: bytes) -> tuple[list[bytes], int]:
    """The complete records of a segment, and the offset where the complete ones end (a torn tail starts there)."""
    records, pos = [], 0
    while pos < len(data):
        header = _read_varint(data, pos)
        if header is None:
            break
        length, start = header
        if start + length > len(data):
            break
        records.append(data[start : start + length])
        pos = start + length
    return records, pos


def count_spans(record: bytes) -> int:
    request = ExportTraceServiceRequest()
    request.ParseFromString(record)
    return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)


def _safe_count(record: bytes) -> int:
    """Spans of a record, 0 for a corrupt one (the writer sets it aside with its reason; start-up goes on)."""
    try:
        return count_spans(record)
    except Exception:
        return 0


@dataclass(frozen=True)
class Segment:
    seq: int
    spans: int
    path: Path

    @property
    def size(self) -> int:
        with contextlib.suppress(OSError):
            return self.path.stat().st_size
        return 0


class Spool:
    """Segments on disk, appended by receivers and consumed in order by the writer. Thread-safe."""

    def __init__(
        self, directory: str | Path, *, batch_max_spans: int, batch_max_age: float, rejected_max_bytes: int = 64 << 20
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.directory / "rejected").mkdir(exist_ok=True, mode=0o700)
        for private in (self.directory, self.directory / "rejected"):  # whatever the umask: spans are private
            os.chmod(private, 0o700)
        self.rejected_max_bytes = rejected_max_bytes
        self.batch_max_spans = batch_max_spans
        self.batch_max_age = batch_max_age
        self._lock = threading.Lock()
        self.changed = threading.Condition(self._lock)
        self._open_file: int | None = None  # fd of the open segment
        self._open_seq = 0
        self._open_spans = 0
        self._open_bytes = 0
        self._open_since = 0.0
        self._ready: list[Segment] = []  # closed, waiting for a writer, oldest first
        self._claimed: dict[int, Segment] = {}  # handed to a writer
        self._ready_bytes = 0
        self._next_seq = 1
        self.recovered: list[Segment] = []  # were .inserting at start: may already be stored
        self._recover()

    # -- start-up ---------------------------------------------------------------------------------
    def _recover(self) -> None:
        seqs = []
        for path in sorted(self.directory.iterdir()):
            if not path.is_file():
                continue
            stem, _, kind = path.name.partition(".")
            seq_text, _, spans_text = stem.partition("-")
            if not seq_text.isdigit():
                continue
            seq = int(seq_text)
            seqs.append(seq)
            if kind == "open":
                data = path.read_bytes()
                records, end = read_records(data)
                if end < len(data):
                    log.warning(
                        "spool segment %s had a torn tail of %d bytes (a crash mid-write); it was "
                        "never acknowledged and is dropped",
                        path.name,
                        len(data) - end,
                    )
                    with open(path, "r+b") as handle:
                        handle.truncate(end)
                if not records:
                    path.unlink()
                    continue
                spans = sum(_safe_count(r) for r in records)
                ready = path.with_name(f"{seq:012d}-{spans}.ready")
                path.rename(ready)
                self._add_ready(Segment(seq, spans, ready))
            elif kind in ("ready", "inserting") and spans_text.isdigit():
                segment = Segment(seq, int(spans_text), path)
                if kind == "inserting":
                    self.recovered.append(segment)
                else:
                    self._add_ready(segment)
        self._ready.sort(key=lambda s: s.seq)
        self._next_seq = max(seqs, default=0) + 1
        if self._ready or self.recovered:
            log.info(
                "spool at %s holds %d segment(s), %d span(s), from before the restart; replaying them",
                self.directory,
                len(self._ready) + len(self.recovered),
                sum(s.spans for s in self._ready + self.recovered),
            )

    def _add_ready(self, segment: Segment) -> None:
        self._ready.append(segment)
        self._ready_bytes += segment.size

    # -- receivers --------------------------------------------------------------------------------
    def append(self, payload: bytes, spans: int) -> None:
        """Write one request; when this returns the request survives a crash of this process."""
        record = varint(len(payload)) + payload
        with self._lock:
            try:
                if self._open_file is None:
                    path = self.directory / f"{self._next_seq:012d}.open"
                    self._open_file = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                    self._open_seq = self._next_seq
                    self._next_seq += 1
                    self._open_since = time.monotonic()
                view = memoryview(record)
                while view:
                    written = os.write(self._open_file, view)
                    view = view[written:]
            except OSError as exc:
                if not is_disk_error(exc):
                    raise
                self._cut_partial_locked()
                raise SpoolFull(f"the spool's disk refused the write ({exc.strerror or exc}); retry later") from exc
            self._open_spans += spans
            self._open_bytes += len(record)
            if self._open_spans >= self.batch_max_spans or self._open_bytes >= _MAX_SEGMENT_BYTES:
                self._close_open_locked()

    def _cut_partial_locked(self) -> None:
        """A write the disk cut short leaves part of a record: cut the segment back to its last whole record (a
        shrink needs no space), so it stays valid. If even that fails, the segment is closed as it is and the writer
        stores the records before the damage (:func:`read_records` stops there)."""
        if self._open_file is None:
            return
        try:
            os.ftruncate(self._open_file, self._open_bytes)
        except OSError as exc:
            log.error("could not cut a partial record from the open spool segment (%s); closing it", exc)
            self._close_open_locked()

    def _close_open_locked(self) -> None:
        if self._open_file is None:
            return
        os.close(self._open_file)
        self._open_file = None
        src = self.directory / f"{self._open_seq:012d}.open"
        dst = self.directory / f"{self._open_seq:012d}-{self._open_spans}.ready"
        src.rename(dst)
        self._ready.append(Segment(self._open_seq, self._open_spans, dst))
        self._ready_bytes += self._open_bytes
        self._open_spans = self._open_bytes = 0
        self.changed.notify_all()

    # -- writer -----------------------------------------------------------------------------------
    def close_open(self) -> None:
        """Close the open segment now (shutdown: flush everything)."""
        with self._lock:
            self._close_open_locked()

    def next_ready(self, timeout: float) -> Segment | None:
        """Claim the oldest closed segment; closes the open one when its batch has waited long enough."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                if self._ready:
                    segment = self._ready.pop(0)
                    self._claimed[segment.seq] = segment
                    return segment
                now = time.monotonic()
                if self._open_file is not None and now - self._open_since >= self.batch_max_age:
                    self._close_open_locked()
                    continue
                wait = deadline - now
                if self._open_file is not None:
                    wait = min(wait, self._open_since + self.batch_max_age - now)
                if wait <= 0:
                    return None
                self.changed.wait(wait)

    def begin(self, segment: Segment) -> Segment:
        """Mark an insert as under way (so a crash during it is checked for duplicates at restart)."""
        target = segment.path.with_suffix(".inserting")
        segment.path.rename(target)
        return Segment(segment.seq, segment.spans, target)

    def finish(self, segment: Segment) -> None:
        """The segment is stored: forget it."""
        size = segment.size
        with contextlib.suppress(FileNotFoundError):
            segment.path.unlink()
        self._drop(segment, size)

    def retry_later(self, segment: Segment) -> Segment:
        """The insert failed for a passing reason: the segment goes back in line, in order."""
        target = segment.path.with_suffix(".ready")
        with contextlib.suppress(FileNotFoundError):
            segment.path.rename(target)
        restored = Segment(segment.seq, segment.spans, target)
        self.requeue(restored)
        return restored

    def requeue(self, segment: Segment, *, new_bytes: bool = False) -> None:
        with self._lock:
            self._claimed.pop(segment.seq, None)
            self._ready.append(segment)
            self._ready.sort(key=lambda s: s.seq)
            if new_bytes:
                self._ready_bytes += segment.size
            self.changed.notify_all()

    def reject(self, segment: Segment, reasons: list[str], spans: int) -> tuple[Path, int]:
        """ClickHouse refused the segment's requests: keep them aside for inspection, out of the way of the rest.

        ``rejected/SEQ.rejected`` holds the refused requests as the spool does (varint-length-prefixed
        ExportTraceServiceRequests); ``rejected/SEQ.json`` says why: ``{"rejected_at", "spans", "requests",
        "errors"}``. Past ``rejected_max_bytes`` the oldest are deleted; returns the kept file and the spans of the
        ones deleted (the caller counts them).
        """
        size = segment.size
        target = self.directory / "rejected" / segment.path.with_suffix(".rejected").name
        segment.path.rename(target)
        target.with_suffix(".json").write_text(
            json.dumps(
                {"rejected_at": time.time(), "spans": spans, "requests": len(reasons), "errors": reasons}, indent=1
            )
        )
        self._drop(segment, size)
        return target, self._bound_rejected(keep=target)

    def rejected_files(self) -> list[Path]:
        return sorted((self.directory / "rejected").glob("*.rejected"))

    @property
    def rejected_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self.directory / "rejected").iterdir() if p.is_file())

    def _bound_rejected(self, keep: Path) -> int:
        """Delete the oldest rejected segments until the folder fits its bound (never ``keep``); their spans."""
        deleted = 0
        for path in self.rejected_files():
            if self.rejected_bytes <= self.rejected_max_bytes or path == keep:
                break
            note = path.with_suffix(".json")
            with contextlib.suppress(OSError, ValueError):
                deleted += int(json.loads(note.read_text())["spans"])
            path.unlink(missing_ok=True)
            note.unlink(missing_ok=True)
        return deleted

    def _drop(self, segment: Segment, size: int) -> None:
        with self._lock:
            self._claimed.pop(segment.seq, None)
            self._ready = [s for s in self._ready if s.seq != segment.seq]
            self._ready_bytes = max(0, self._ready_bytes - size)
            self.changed.notify_all()

    # -- accounting -------------------------------------------------------------------------------
    @property
    def pending_spans(self) -> int:
        with self._lock:
            waiting = self._ready + list(self._claimed.values()) + self.recovered
            return self._open_spans + sum(s.spans for s in waiting)

    @property
    def pending_bytes(self) -> int:
        with self._lock:
            return self._open_bytes + self._ready_bytes + sum(s.size for s in self.recovered)

    @property
    def ready_segments(self) -> int:
        """Closed segments not yet stored (waiting or being written)."""
        with self._lock:
            return len(self._ready) + len(self._claimed)

    def segments(self) -> Iterator[Segment]:
        with self._lock:
            yield from list(self._ready)
