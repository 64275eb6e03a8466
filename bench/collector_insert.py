"""Where one collector insert spends its time: a spool segment of realistic agent spans, inserted the way the writer
inserts it, next to the stages it is made of (reading the protobuf, the mapping, writing without the views) and the
insert with the previous squashing settings (a part per 8k rows) as the baseline, and the insert with nothing redacted
(what redaction of values, keys and names costs). Prints medians in ms and µs/span.

    python bench/collector_insert.py [--prompt-bytes 1200] [--segment-mib 32] [--rounds 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _spans import agent_request
from _store import fresh_store

from agentwatch.collector._insert import OtlpInserter
from agentwatch.collector._spool import varint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompt-bytes", type=int, default=1200)
    parser.add_argument("--segment-mib", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    work, config, store = fresh_store("aw-bench-insert-")
    store.command("CREATE TABLE plain AS otel_traces")  # the same table without the materialized views
    segment, spans, rnd = work / "segment.bin", 0, random.Random(1)
    with open(segment, "wb") as out:
        while out.tell() < args.segment_mib << 20:
            body = agent_request(512, rnd, args.prompt_bytes)
            out.write(varint(len(body)) + body)
            spans += 512
    inserter = OtlpInserter(store, config)
    params = {**inserter.parameters, "path": str(segment)}
    select = inserter.statement.split("INSERT INTO otel_traces\n", 1)[1]
    source = "file({path:String}, 'Protobuf', {structure:String})"
    previous = dict(inserter.settings, min_insert_block_size_rows=8192, min_insert_block_size_bytes=16 << 20)
    stages = {
        "read the protobuf": (
            f"SELECT count() FROM {source} ARRAY JOIN resource_spans AS rs ARRAY JOIN rs.scope_spans AS ss "
            "ARRAY JOIN ss.spans AS sp",
            inserter.settings,
        ),
        "mapping, every column": (f"SELECT * FROM ({select}) FORMAT Null", inserter.settings),
        "insert without the views": (inserter.statement.replace("INTO otel_traces", "INTO plain"), inserter.settings),
        "insert (as the writer does)": (inserter.statement, inserter.settings),
        "insert, a part per 8k rows": (inserter.statement, previous),
        "insert, nothing redacted": (inserter.statement, inserter.settings),
    }
    print(f"segment of {segment.stat().st_size / 1e6:.1f} MB, {spans:,} spans; medians of {args.rounds} rounds")
    timings: dict[str, list[float]] = {name: [] for name in stages}
    for _ in range(args.rounds):  # interleaved, so drift hits every stage alike
        for name, (sql, settings) in stages.items():
            started = time.perf_counter()
            unredacted = {**params, "redact": ""} if name == "insert, nothing redacted" else params
            store.command(sql, unredacted, settings=settings)
            timings[name].append(time.perf_counter() - started)
        store.command("SYSTEM JEMALLOC PURGE")
    baseline = statistics.median(timings["insert, a part per 8k rows"])
    for name, samples in timings.items():
        median = statistics.median(samples)
        print(f"{name:30s} {median * 1e3:8.0f} ms  {median / spans * 1e6:6.1f} µs/span  {median / baseline:5.2f}×")
    store.close()


if __name__ == "__main__":
    main()
