"""Synthetic data (test INS only, OID 1.2.250.1.213.1.4.10) for the demo, `adt-replay`, the tests
and the benchmarks: `identities` (synthetic people and identifiers: names, birth dates, NIR/INS,
RPPS, FINESS, MSSanté addresses; the one place Faker is loaded), `letters` (letter contents),
`clinical` (HL7 clinical messages of a stay), `campaign` (QLS campaign CSV files)."""
