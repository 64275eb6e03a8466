"""The spool: refused requests kept with a readable reason and bounded; the token a segment is inserted with."""

from __future__ import annotations

import json

from agentwatch.collector._spool import Spool


def _rejected_segment(spool: Spool, size: int):
    spool.append(b"x" * size, 3)
    spool.close_open()
    return spool.begin(spool.next_ready(timeout=1))


def test_rejected_requests_are_kept_with_their_reason_and_the_folder_stays_bounded(tmp_path):
    spool = Spool(tmp_path / "spool", batch_max_spans=1_000_000, batch_max_age=60, rejected_max_bytes=10_000)
    kept, deleted = spool.reject(_rejected_segment(spool, 4000), ["Code: 27. Cannot parse input"], 3)
    assert deleted == 0 and kept.exists()
    note = json.loads(kept.with_suffix(".json").read_text())
    assert note["spans"] == 3 and note["requests"] == 1 and "Cannot parse input" in note["errors"][0]
    deleted_spans = 0
    for _ in range(5):  # 5 more refusals of 4 KB: the oldest go, the newest stays, the deleted spans are counted
        kept, deleted = spool.reject(_rejected_segment(spool, 4000), ["refused"], 3)
        assert kept.exists()
        deleted_spans += deleted
    assert spool.rejected_bytes <= 10_000 + 4100  # the bound, or the one just kept if it alone is larger
    assert len(spool.rejected_files()) == 2
    assert deleted_spans == 4 * 3 and spool.pending_spans == 0


def test_one_rejected_segment_larger_than_the_bound_is_still_kept(tmp_path):
    spool = Spool(tmp_path / "spool", batch_max_spans=1_000_000, batch_max_age=60, rejected_max_bytes=100)
    kept, deleted = spool.reject(_rejected_segment(spool, 4000), ["refused"], 3)
    assert kept.exists() and deleted == 0
    kept2, deleted = spool.reject(_rejected_segment(spool, 4000), ["refused"], 3)
    assert kept2.exists() and not kept.exists() and deleted == 3


def test_a_segment_has_one_token_read_from_disk_or_memory(tmp_path):
    from agentwatch.collector._insert import segment_token

    data = bytes(range(256)) * 10_000  # more than one read piece
    path = tmp_path / "000000000001-1.ready"
    path.write_bytes(data)
    assert segment_token(path) == segment_token(data) != segment_token(data + b"x")
