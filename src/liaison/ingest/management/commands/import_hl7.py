"""`liaison import-hl7 FILE…`: the name that says what the batch import takes, every HL7 v2
message the listener accepts (ADT, ORU^R01, OMP^O09, RDE^O11); `liaison import-adt` is kept."""

from __future__ import annotations

from liaison.ingest.management.commands import import_adt


class Command(import_adt.Command):
    help = (
        "Intègre un fichier de messages HL7 v2 (ADT, ORU^R01, OMP^O09, RDE^O11 ; un message par bloc "
        "commençant par MSH ; trames MLLP et segments FHS/BHS acceptés), dans l'ordre du fichier."
    )
