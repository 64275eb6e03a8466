"""Grafana dashboards and provisioning files shipped with agentwatch."""
