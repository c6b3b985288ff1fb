"""What the CDA needs that the content may lack: `check` raises `CdaBuildError` with French messages
naming the form fields (ldl-ses-cda.md §4: entries consistency, exit-mode value set, dates)."""

from __future__ import annotations

from liaison.core.content import PRESENCE_LABELS, IdentityStatus, LetterContent, Presence, Sex
from liaison.core.identifiers import INS_OIDS
from liaison.documents.cda.codes import CONFIDENTIALITY_LABELS, DOCUMENT_STATUS, FACILITY_TYPE_CODES
from liaison.documents.cda.model import CdaBuildError, DocumentMeta


def uses_ins(content: LetterContent) -> bool:
    """The INS is sent only for a qualified identity (référentiel national d'identitovigilance)."""
    p = content.patient
    return bool(p.ins_matricule and p.ins_oid in INS_OIDS and p.identity_status == IdentityStatus.QUALIFIEE)


def check(content: LetterContent, meta: DocumentMeta) -> None:
    c, out = content, []
    p = c.patient

    def need(cond: object, field: str, message: str) -> None:
        if not cond:
            out.append((field, message))

    need(p.birth_family_name.strip(), "patient.birth_family_name", "Nom de naissance du patient absent.")
    need(
        p.first_given_name.strip(),
        "patient.first_given_name",
        "Premier prénom de naissance du patient absent.",
    )
    need(p.birth_date, "patient.birth_date", "Date de naissance du patient absente.")
    if uses_ins(c):
        need(
            p.birth_place_cog,
            "patient.birth_place_cog",
            "Lieu de naissance (code officiel géographique) absent : il est obligatoire avec l'INS.",
        )
        need(p.sex != Sex.U, "patient.sex", "Sexe du patient absent : il est obligatoire avec l'INS.")
    need(
        uses_ins(c) or (p.ipp and p.ipp_oid),
        "patient.ipp",
        "Aucun identifiant du patient : ni INS qualifiée, ni IPP avec l'OID de l'établissement.",
    )
    need(
        c.establishment.finess_eg or c.establishment.finess_ej,
        "establishment.finess_eg",
        "Numéro FINESS de l'établissement absent.",
    )
    need(c.establishment.name.strip(), "establishment.name", "Nom de l'établissement absent.")
    need(meta.author.rpps, "responsible_physician.rpps", "Numéro RPPS du médecin signataire absent.")
    need(
        meta.author.family_name.strip(),
        "responsible_physician.family_name",
        "Nom du médecin signataire absent.",
    )
    need(c.admission_at, "admission_at", "Date d'entrée absente.")
    need(c.discharge_at, "discharge_at", "Date de sortie absente.")
    for name in ("admission_at", "discharge_at"):
        value = getattr(c, name)
        need(value is None or value.tzinfo is not None, name, "Date sans fuseau horaire.")
    need(
        meta.effective_time.tzinfo and meta.signed_at.tzinfo,
        "signed_at",
        "Date de signature ou de création sans fuseau horaire.",
    )
    if c.admission_at and c.discharge_at and c.admission_at.tzinfo and c.discharge_at.tzinfo:
        need(
            c.discharge_at >= c.admission_at,
            "discharge_at",
            "La date de sortie précède la date d'entrée.",
        )
        # The letter is usually signed a few hours before the patient leaves (it must be
        # handed over that day), so its date is bounded by the admission, not the discharge.
        if meta.effective_time.tzinfo:
            need(
                meta.effective_time >= c.admission_at,
                "admission_at",
                "Le document est daté d'avant l'entrée du patient.",
            )
    need(c.entry_mode, "entry_mode", "Modalité d'entrée non renseignée.")
    need(c.exit_mode, "exit_mode", "Modalité de sortie non renseignée.")
    need(c.reason.strip(), "reason", "Motif de l'hospitalisation absent.")
    need(c.medical_summary.strip(), "medical_summary", "Synthèse médicale du séjour absente.")
    for name in ("resistant_organisms", "transfusion", "blood_derivatives"):
        item: Presence = getattr(c, name)
        label = PRESENCE_LABELS[name]
        need(item.present is not None, name, f"Question « {label} » sans réponse (présent ou aucun).")
        need(not item.present or item.details.strip(), f"{name}.details", f"Précisez : {label}.")
    # Consistency of the BL entries with their detail entries (ldl-ses-cda.md §4 item 2).
    need(
        not (c.resistant_organisms.present and c.resistant_organisms_screened is False),
        "resistant_organisms_screened",
        "Des BMR/BHRe sont déclarées identifiées alors que la recherche est déclarée non effectuée.",
    )
    need(
        not c.transfusion_incident.strip() or c.transfusion.present,
        "transfusion_incident",
        "Accident transfusionnel décrit alors que la transfusion de produits sanguins "
        "n'est pas déclarée : cochez la transfusion ou retirez l'accident.",
    )
    need(
        not c.blood_derivatives_incident.strip() or c.blood_derivatives.present,
        "blood_derivatives_incident",
        "Événement indésirable après dérivés du sang décrit alors que l'administration de dérivés "
        "du sang n'est pas déclarée : cochez l'administration ou retirez l'événement.",
    )
    for name, label in (
        ("adverse_events", "événements indésirables"),
        ("allergies", "allergies"),
        ("implanted_devices", "dispositif médical implanté"),
    ):
        item = getattr(c, name)
        need(
            not item.present or item.details.strip() or (name == "implanted_devices" and c.devices),
            f"{name}.details",
            f"Précisez : {label}.",
        )
    need(
        c.medications or c.no_discharge_medication,
        "medications",
        "Traitement de sortie absent : ajoutez les médicaments ou cochez « aucun traitement à la sortie ».",
    )
    for i, m in enumerate(c.medications):
        need(
            m.medicine.strip(),
            f"medications.{i}.medicine",
            f"Ligne {i + 1} du traitement : médicament non nommé.",
        )
        need(
            m.status,
            f"medications.{i}.status",
            f"Ligne {i + 1} ({m.medicine}) : statut non renseigné (poursuivi, modifié, arrêté…).",
        )
        need(
            not m.needs_reason or m.reason.strip(),
            f"medications.{i}.reason",
            f"{m.medicine or f'Ligne {i + 1}'} : motif de la modification ou de l'arrêt absent.",
        )
    e = c.establishment
    need(
        e.facility_type_code in FACILITY_TYPE_CODES,
        "establishment.facility_type_code",
        f"Type d'établissement « {e.facility_type_code} » inconnu du jeu de valeurs "
        "JDV_J02_XdsHealthcareFacilityTypeCode_CISIS (SA01 établissement public de santé, "
        "SA03 privé PSPH, SA04 privé non PSPH…).",
    )
    need(
        e.facility_type_label.strip(),
        "establishment.facility_type_label",
        "Libellé du type d'établissement absent.",
    )
    need(
        meta.confidentiality_code in CONFIDENTIALITY_LABELS,
        "confidentiality",
        f"Code de confidentialité inconnu : {meta.confidentiality_code}.",
    )
    need(meta.status_code in DOCUMENT_STATUS, "status", f"Statut du document inconnu : {meta.status_code}.")
    need(meta.version_number >= 1, "version", "Le numéro de version doit être un entier positif.")
    if out:
        raise CdaBuildError(out)
