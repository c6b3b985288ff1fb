"""HL7 v2 ADT ingestion (IHE PAM / PAM.fr): MLLP listener, batch import, stays and letters."""
