"""A background process's pulse: its heartbeat row (`models.Heartbeat`, beaten by
`heartbeat.Beater`, every `config.HeartbeatConfig.interval` at most) and its Prometheus counters
(`counters`). The worker, the MLLP listener and the acknowledgement reader beat and count here;
`health` (floor 6) reads the rows back for `/sante/` and `/metriques/`."""
