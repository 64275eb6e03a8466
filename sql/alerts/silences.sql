-- name: silences
-- description: The silences not yet over at now: the latest version of each, by id.
SELECT Id, argMax(Matchers, UpdatedAt), argMax(StartsAt, UpdatedAt), argMax(EndsAt, UpdatedAt),
       argMax(Comment, UpdatedAt)
FROM alert_silences
GROUP BY Id
HAVING argMax(EndsAt, UpdatedAt) > {now:DateTime64(3)}
ORDER BY Id
