"""Clinical record of a stay (results, prescriptions, diagnoses, procedures, allergies), fed by HL7."""
