-- name: model_context_windows
-- description: Context window (tokens) of known models, matched by the longest model-name prefix. Override or
--    add models with INSERT INTO model_context_windows (Model, ContextTokens) VALUES (...); the newest row wins.
CREATE TABLE IF NOT EXISTS {{database}}.model_context_windows{{on_cluster}} (
    Model String,
    ContextTokens UInt64,
    UpdatedAt DateTime64(3) DEFAULT now64(3)
) ENGINE = {{engine ReplacingMergeTree(UpdatedAt)}}
ORDER BY Model
