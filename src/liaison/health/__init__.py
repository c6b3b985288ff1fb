"""Health and metrics: `/sante/` and `/metriques/`, read from the background processes'
heartbeats (`liaison.pulse`) and the database."""
