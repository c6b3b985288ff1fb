"""The demo and its test infrastructure, on the top floor: nothing of the domain imports it.

- `hospital.generate`: the synthetic demo hospital of `liaison demo-data` (units, people, stays,
  letters in every state of the worklist, the QLS campaign), with `discharge_day` (cardiology's
  discharge day, signed and handed over through the lifecycle) and `history` (the letters signed
  before today sent for real to the sandboxes).
- `clinical_feeds`: the clinical HL7 traffic of the demo's stays, applied through the ingest.
- `synthetic`: the synthetic generators the demo, `adt-replay`, the tests and the benchmarks
  share (letters, clinical messages, QLS campaign files).
- `sandboxes`: the loopback DMP (`sandboxes.dmp`) and MSSanté (`sandboxes.mail`) peers.
- `management/commands`: `demo`, `demo-data`, `adt-replay`, `dmp-sandbox`, `mail-sandbox`.
"""
