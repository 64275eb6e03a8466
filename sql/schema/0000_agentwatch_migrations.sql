-- name: agentwatch_migrations
-- description: Which schema versions are applied, with the checksum of the file that applied each.
CREATE TABLE IF NOT EXISTS {{database}}.agentwatch_migrations{{on_cluster}} (
    Version UInt32,
    Name String,
    Checksum String,
    AppliedAt DateTime64(3)
) ENGINE = {{engine ReplacingMergeTree(AppliedAt)}}
ORDER BY Version
