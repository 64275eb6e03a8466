-- name: data_start
-- description: When the store's spans begin within [start, end): where a preview's time range starts by default, so
--    a fresh store is not squeezed into one bar at the right edge of a day.
SELECT min(Timestamp) FROM otel_traces WHERE Timestamp >= {start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)}
