-- name: quality_drift
-- failure_mode: goal_drift
-- severity: warning
-- schedule: 15m
-- description: Per agent, the distribution of evaluation scores, LLM input tokens and tool latency in the window
--    against the baseline, as a population stability index (PSI; 0.1 moderate, 0.25 significant shift). Scores
--    use ten fixed bins on [0, 1]; tokens and latency the log2 buckets of agent_histogram (whole hours).
-- param.min_psi: Float64 = 0.25 | PSI from which a shift is reported
-- param.min_samples: UInt32 = 30 | observations each side needs
WITH
    scores AS (
        SELECT AgentName, concat('score:', Metric) AS signal,
               toUInt8(least(9, floor(Score * 10))) AS bucket,
               Timestamp >= {start:DateTime64(9)} AS in_window
        FROM evaluations
        WHERE Timestamp >= {baseline_start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)}
          AND Status = 'scored'
    ),
    observations AS (
        SELECT AgentName, signal, bucket, countIf(in_window) AS now, countIf(NOT in_window) AS base
        FROM scores GROUP BY AgentName, signal, bucket
        UNION ALL
        SELECT AgentName, Signal AS signal, Bucket AS bucket,
               sumIf(Count, Hour >= toStartOfHour({start:DateTime64(9)})) AS now,
               sumIf(Count, Hour < toStartOfHour({start:DateTime64(9)})) AS base
        FROM agent_histogram
        WHERE Hour >= toStartOfHour({baseline_start:DateTime64(9)}) AND Hour < {end:DateTime64(9)}
        GROUP BY AgentName, Signal, Bucket
    ),
    psi AS (
        SELECT AgentName, signal, sum(now) AS n_now, sum(base) AS n_base,
            sum(((now + 0.5) / (total_now + 0.5 * buckets) - (base + 0.5) / (total_base + 0.5 * buckets))
                * ln(((now + 0.5) / (total_now + 0.5 * buckets)) / ((base + 0.5) / (total_base + 0.5 * buckets))))
                AS value,
            argMax(bucket, now) AS mode_now, argMax(bucket, base) AS mode_base
        FROM (
            SELECT *, sum(now) OVER w AS total_now, sum(base) OVER w AS total_base, count() OVER w AS buckets
            FROM observations
            WINDOW w AS (PARTITION BY AgentName, signal)
        )
        GROUP BY AgentName, signal
    )
SELECT
    lower(hex(sipHash64('quality_drift', AgentName, signal))) AS fingerprint,
    {severity:String} AS severity,
    '' AS service_name,
    '' AS session_id,
    '' AS trace_id,
    AgentName AS agent_name,
    '' AS tool_name,
    format('{} of {} shifted: PSI {} over {} observations against {} in the baseline (most common bucket {} → {})',
           signal, AgentName, toString(round(value, 3)), toString(n_now), toString(n_base), toString(mode_base),
           toString(mode_now)) AS summary,
    value,
    CAST([], 'Array(String)') AS evidence,
    toJSONString(map('signal', signal, 'window_samples', toString(n_now), 'baseline_samples', toString(n_base)))
        AS details
FROM psi
WHERE n_now >= {min_samples:UInt32} AND n_base >= {min_samples:UInt32} AND value >= {min_psi:Float64}
