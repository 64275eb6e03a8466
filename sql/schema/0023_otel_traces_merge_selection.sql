-- name: otel_traces_merge_selection
-- description: Fewer, larger merges of otel_traces on the embedded store: a merge waits for 8 parts and the
--    selector's base is 10 (ClickHouse's defaults: any number, 5), so a row is rewritten fewer times. On 2 cores
--    the collector sustained 44.7k spans/s over 1M spans with the defaults and 55.2k with these
--    (python bench/collector.py --spans 1000000); background merges had taken 29% of its CPU.
-- store: embedded
ALTER TABLE {{database}}.otel_traces{{on_cluster}} MODIFY SETTING merge_selector_base = 10, min_parts_to_merge_at_once = 8
