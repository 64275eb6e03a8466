-- name: alerts
-- description: Adds the notification outbox to alerts: a notification is recorded (Pending) before it is sent
--    and marked delivered after, so a restart re-sends what was not delivered and never what was. Delivery
--    failures count in DeliveryFailures; LastError says why.
ALTER TABLE {{database}}.alerts{{on_cluster}}
    ADD COLUMN IF NOT EXISTS PendingKind LowCardinality(String) DEFAULT '' AFTER LastError,
    ADD COLUMN IF NOT EXISTS PendingChannels Array(LowCardinality(String)) DEFAULT [] AFTER PendingKind,
    ADD COLUMN IF NOT EXISTS NotificationId String DEFAULT '' AFTER PendingChannels,
    ADD COLUMN IF NOT EXISTS DeliveryFailures UInt32 DEFAULT 0 AFTER NotificationId,
    ADD COLUMN IF NOT EXISTS Silenced UInt8 DEFAULT 0 AFTER DeliveryFailures,
    ADD COLUMN IF NOT EXISTS Value Float64 DEFAULT 0 AFTER Silenced,
    ADD COLUMN IF NOT EXISTS Detector LowCardinality(String) DEFAULT '' AFTER Value,
    ADD COLUMN IF NOT EXISTS Evidence Array(String) DEFAULT [] AFTER Detector
