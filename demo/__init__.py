"""``agentwatch demo``: a fleet of simulated agents, each of the six failure modes injected, caught live."""
