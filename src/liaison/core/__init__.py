"""The ground floor: what is pure and shared, and imports no other Liaison package.

The content model of a letter and its value sets (`content`), the catalogue of the letter's fields
(`catalogue`), French health identifiers (`identifiers`), control characters in text read from
outside (`controls`), the codes and namespaces the letter is written with (`codes`), Paris time and
« the same day » (`paris`). Pure Python, no Django: every other package may import from here,
nothing here imports from them (checked by import-linter in `make lint`, see docs/ARCHITECTURE.md).
"""
