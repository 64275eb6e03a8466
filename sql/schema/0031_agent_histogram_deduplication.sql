-- name: agent_histogram_deduplication
-- description: agent_histogram remembers the last 1,000 inserted blocks, so an insert repeated with the same
--    insert_deduplication_token adds nothing to it. The collector inserts each spool segment with a token made
--    from its bytes and replays a segment whose insert a crash interrupted: every table the pipeline fills
--    (otel_traces and each materialized view's target) then holds the segment's rows exactly once, whichever of
--    them the crash had reached. Replicated engines deduplicate on their own (replicated_deduplication_window).
ALTER TABLE {{database}}.agent_histogram{{on_cluster}} MODIFY SETTING non_replicated_deduplication_window = 1000
