-- name: states
-- description: Each alert rule's alerts by state (pending, firing, resolved), with their failed deliveries and the
--    last delivery error.
SELECT Rule AS rule, State AS state, count() AS alerts, sum(DeliveryFailures) AS failed_deliveries,
       anyIf(LastError, LastError != '') AS error
FROM alerts FINAL
GROUP BY Rule, State
ORDER BY Rule, State
