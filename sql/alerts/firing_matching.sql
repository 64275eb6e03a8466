-- name: firing_matching
-- description: How many firing alerts carry every label of a silence's matchers (keys[i] = values[i]).
SELECT count()
FROM alerts FINAL
WHERE State = 'firing' AND arrayAll((k, v) -> Labels[k] = v, {keys:Array(String)}, {values:Array(String)})
