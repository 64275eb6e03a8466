SELECT countIf(State = 'firing') AS firing FROM alerts FINAL
