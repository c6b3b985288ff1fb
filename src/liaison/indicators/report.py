"""The establishment report for the CME / COPIL qualité: a PDF (Typst `report.typ`) with the
period's figures and definitions, the 12-month trend, units compared, delays and QLS.

Aggregates only, never a patient. The charts are the dashboard's own SVGs (vl-convert).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import typst

TEMPLATE = Path(__file__).with_name("report.typ")
_compiler: typst.Compiler | None = None


def report_json(data: dict[str, Any], start: dt.date, end: dt.date, today: dt.date) -> dict[str, Any]:
    res, defs = data["res"], data["defs"]
    return {
        "title": "Indicateurs de la lettre de liaison à la sortie",
        "establishment": f"{res.establishment.name} (FINESS {res.establishment.finess_eg})",
        "period": f"Sorties du {start:%d/%m/%Y} au {end:%d/%m/%Y}",
        "edited_on": today.strftime("%d/%m/%Y"),
        "counts": f"{res.stays} séjours, {res.deliveries} envois MSSanté. "
        f"Définitions version {defs.version}.",
        "scope": " ".join(
            defs.texts.get(k, "") for k in ("period", "scope", "letter", "same_day", "physician")
        ),
        "indicators": [
            {
                "id": r["ind"].id,
                "label": r["ind"].label,
                "numerator": str(r["fig"].numerator),
                "denominator": str(r["fig"].denominator),
                "value": r["value"],
                "ci": r["ci"],
                "definition": r["ind"].definition,
                "choice": r["ind"].status == "our_choice",
            }
            for r in data["rows"]
        ]
        + [
            {
                "id": q["id"],
                "label": q["label"],
                "numerator": str(q["numerator"]),
                "denominator": str(q["denominator"]),
                "value": q["value_pct"] + (f" (classe {q['class']})" if q.get("class") else ""),
                "ci": q["ci"],
                "definition": q["definition"],
                "choice": False,
            }
            for q in data["qls_rows"]
        ],
        "priorities": data["priorities"],
        "units": data["unit_names"],
        "unit_rows": [{"label": r["ind"].label, "values": r["units"]} for r in data["rows"]],
        "trend": data["trend_svg"],
        "compare": data["units_svg"],
        "distributions": [x["svg"] for x in data["distributions"]],
    }


def render(data: dict[str, Any], start: dt.date, end: dt.date, today: dt.date) -> bytes:
    global _compiler
    if _compiler is None:
        _compiler = typst.Compiler(str(TEMPLATE))
    payload = json.dumps(report_json(data, start, end, today), ensure_ascii=False)
    return _compiler.compile(sys_inputs={"data": payload})
