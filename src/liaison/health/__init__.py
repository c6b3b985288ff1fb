"""Health and metrics: the background processes' heartbeats, `/sante/` and `/metriques/`."""
