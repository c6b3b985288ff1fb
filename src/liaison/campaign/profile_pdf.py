"""The establishment profile as a PDF (Typst `profile.typ`), from `services.profile()` data.

`profile_json(p)` turns the profile into French strings (and bar ratios); `render_profile_pdf`
compiles it. No Django import: the profile's objects are read by attribute only.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typst

from liaison.campaign.stats import fr

TEMPLATE = Path(__file__).with_name("profile.typ")
EVOLUTION_LABELS = {
    "baisse": "en baisse",
    "stable": "stable",
    "hausse": "en hausse",
    "non_calculable": "non calculable",
}
SOURCE = "Source : HAS, data.gouv.fr (Licence Ouverte) ; attributs déclarés par la campagne."
PEERS_SHOWN = 25


def _pct(x: float | None) -> str:
    return fr(x)


def profile_json(p: dict, today: dt.date | None = None) -> dict:
    est = p["establishment"]
    series = []
    for s in p["series"]:
        years = [
            {
                "year": str(y["year"]),
                "value": _pct(y["value"]),
                "weight": str(y["weight"]) if y["weight"] is not None else "—",
                "klass": y["klass"] or "—",
                "evolution": EVOLUTION_LABELS.get(y["evolution"], "—"),
                "region": _pct(y["region"]),
                "category": _pct(y["category"]),
                "national": _pct(y["national"]),
            }
            for y in s["years"]
        ]
        last = s["years"][-1]
        bars = []
        if last["value"] is not None and (s["code"] == p["main"] or s["discharge_organisation"]):
            for label, v, colour in (
                ("Établissement", last["value"], "#1f3a60"),
                ("Région", last["region"], "#7f9cc0"),
                ("Catégorie (France)", last["category"], "#a9b8a0"),
                ("National", last["national"], "#9a9a9a"),
            ):
                if v is not None:
                    bars.append(
                        {
                            "label": f"{label} {last['year']}",
                            "ratio": max(0.0, min(1.0, v / 100)),
                            "text": fr(v),
                            "colour": colour,
                        }
                    )
        series.append({"label": s["label"], "unit": s["unit"], "years": years, "bars": bars})
    criteria = []
    plan = next((x for x in p["plans"] if x["plan"]), None)
    for code, label in p["priority_criteria"].items():
        if plan:
            items = plan["by_criterion"][code]
            text = (
                "; ".join(
                    f"{i.action} ({i.get_status_display().lower()}"
                    + (f", {i.owner}" if i.owner else "")
                    + (f", échéance {i.deadline:%d/%m/%Y}" if i.deadline else "")
                    + ")"
                    for i in items
                )
                or "aucune action inscrite"
            )
        else:
            text = "pas encore de plan d'action"
        criteria.append({"label": label, "plan": text})
    if est.dmp_rate is not None or est.mss_rate is not None:
        digital = (
            f"Alimentation du DMP en lettres de liaison : {fr(est.dmp_rate, 0)} % ; "
            f"envoi par MSSanté aux professionnels : {fr(est.mss_rate, 0)} %"
            f" (source : {est.attributes_source or 'non déclarée'})."
        )
    else:
        digital = "Non renseigné : ni le DMP ni MSSanté ne figurent dans les données ouvertes de la HAS."
    extra = []
    if est.parcours is not None:
        extra.append("services de parcours : " + (", ".join(p["parcours_labels"]) or "aucun"))
    if est.cpts is not None:
        extra.append("lien avec une CPTS : " + ("oui" if est.cpts else "non"))
    if est.beds is not None:
        extra.append(f"{est.beds} lits et places")
    if extra:
        digital += " Autres éléments : " + " ; ".join(extra) + "."
    discharge = "Pas de score e-Satis publié pour cet établissement."
    if p["discharge"]:
        y = p["discharge"]["years"][-1]
        if y["value"] is not None:
            discharge = (
                f"Score « organisation de la sortie » e-Satis {y['year']} : {fr(y['value'])}/100 "
                f"({y['weight']} répondants), région {fr(y['region'])}, national {fr(y['national'])}."
            )
    peers = []
    ranked = p["peers"]
    if ranked:
        me = next((i for i, x in enumerate(ranked) if x["self"]), None)
        lo = 0 if me is None else max(0, min(me - PEERS_SHOWN // 2, len(ranked) - PEERS_SHOWN))
        for i, x in enumerate(ranked[lo : lo + PEERS_SHOWN], start=lo + 1):
            peers.append(
                {
                    "rank": str(i),
                    "name": x["name"],
                    "finess": x["finess"],
                    "value": fr(x["value"]),
                    "klass": x["klass"] or "—",
                    "self": x["self"],
                }
            )
    main_label = next((s["short"] for s in p["series"] if s["code"] == p["main"]), "")
    peers_intro = (
        f"{main_label} {p['peer_year']} : établissements de la même catégorie ({est.category}) "
        f"dans la région {est.region}, {len(ranked)} avec un résultat publié."
        if ranked
        else "Aucun établissement comparable avec un résultat publié."
    )
    return {
        "title": "Profil d'établissement — lettre de liaison à la sortie",
        "source": SOURCE,
        "edited_on": (today or dt.date.today()).strftime("%d/%m/%Y"),
        "scope": "Données agrégées par établissement ; aucune donnée de patient.",
        "establishment": {
            "name": est.name,
            "finess_eg": est.finess_eg,
            "finess_ej": est.finess_ej,
            "name_ej": est.name_ej or est.finess_ej,
            "category": est.category or "catégorie inconnue",
            "region": est.region or "région inconnue",
            "department": est.department or "—",
        },
        "series": series,
        "means_note": "Région, catégorie et national : moyennes pondérées par l'effectif évalué "
        "(dossiers ou répondants, selon le fichier).",
        "criteria": criteria,
        "criteria_note": "Les résultats par critère ne sont pas publiés par établissement ; "
        "les trois critères "
        "les moins bien remplis au niveau national (remise, planification des soins, traitement de sortie) "
        "structurent le plan d'action.",
        "digital": digital,
        "discharge": discharge,
        "peers_intro": peers_intro,
        "peers": peers,
    }


_compiler: typst.Compiler | None = None


def render_profile_pdf(p: dict, today: dt.date | None = None) -> bytes:
    global _compiler
    if _compiler is None:
        _compiler = typst.Compiler(str(TEMPLATE))
    data = json.dumps(profile_json(p, today), ensure_ascii=False)
    return _compiler.compile(sys_inputs={"data": data})
