"""Export of an audit grid: one row per sampled record, one column per criterion (CSV, XLSX).

Cells read "oui", "non" or "NA", as on the HAS paper grids. A criterion changed by the auditor
is marked with "*" and listed in the "Corrections de l'auditeur" column with its reason. The
CSV uses ";" and a BOM so that a French spreadsheet opens it directly.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill

from liaison.cells import safe_row
from liaison.quality.audit import Audit
from liaison.quality.rules import RESULT_LABELS_FR, Result


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f} %"


def audit_table(audit: Audit) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the audit grid (French, ready for a spreadsheet)."""
    items = audit.grid.items
    names = {i.id: f"{i.order}. {i.label_fr}" for i in items}
    header = [
        "Séjour",
        *[f"{i.order}. {i.label_fr}" for i in items],
        "Conforme",
        "Score v1",
        "Corrections de l'auditeur",
    ]
    rows: list[list[Any]] = []
    for rec in audit.sample:
        cells: list[Any] = [rec.stay_id]
        for r in rec.final.items:
            mark = "*" if r.id in rec.overrides else ""
            cells.append(RESULT_LABELS_FR[r.result] + mark)
        labels = RESULT_LABELS_FR
        notes = "; ".join(
            f"{names.get(cid, cid)} : {labels[rec.automatic[cid].result]} → {labels[o.result]} ({o.reason})"
            for cid, o in rec.overrides.items()
        )
        cells += ["oui" if rec.final.compliant else "non", round(rec.final.score_v1, 1), notes]
        rows.append(safe_row(cells))
    return header, rows


def audit_to_csv(audit: Audit) -> str:
    """The audit grid as CSV text (";" separated). Write it with encoding "utf-8-sig"."""
    header, rows = audit_table(audit)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    rate = audit.rate
    writer.writerow([])
    writer.writerow(["Taux de lettres conformes", _pct(rate.rate)])
    if rate.ci95:
        writer.writerow(["IC 95 % (Wilson)", _pct(rate.ci95[0]), _pct(rate.ci95[1])])
    writer.writerow(["Classe", rate.cls or ""])
    writer.writerow(["Grille", audit.grid.id, audit.grid.version, audit.grid.sha256])
    writer.writerow(
        safe_row(
            ["Graine du tirage", audit.draw.seed, "Empreinte de la population", audit.draw.population_sha256]
        )
    )
    return out.getvalue()


def write_audit_csv(audit: Audit, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(audit_to_csv(audit), encoding="utf-8-sig", newline="")
    return path


_RED = PatternFill("solid", fgColor="F8D7DA")
_GREEN = PatternFill("solid", fgColor="D4EDDA")


def audit_xlsx_bytes(audit: Audit) -> bytes:
    """The workbook of `write_audit_xlsx`, in memory (web download)."""
    buffer = io.BytesIO()
    write_audit_xlsx(audit, buffer)
    return buffer.getvalue()


def write_audit_xlsx(audit: Audit, path: str | Path | BinaryIO) -> str | Path | BinaryIO:
    """Workbook with the audit grid, the per-criterion rates and the summary."""
    path = Path(path) if isinstance(path, str) else path
    data = audit.as_dict()
    wb = Workbook()
    ws = wb.worksheets[0]  # the one sheet a new workbook has (`active` is typed Optional)
    ws.title = "Grille d'audit"
    header, rows = audit_table(audit)
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for rec, row in zip(audit.sample, rows, strict=True):
        ws.append(row)
        excel_row = ws.max_row
        for j, r in enumerate(rec.final.items):
            cell = ws.cell(row=excel_row, column=2 + j)
            if r.result is Result.NOT_MET:
                cell.fill = _RED
                cell.comment = Comment(f"{r.explanation}\nChamp : {r.field}", "Liaison")
            elif r.result is Result.MET:
                cell.fill = _GREEN
            if r.id in rec.overrides:
                o = rec.overrides[r.id]
                auto = RESULT_LABELS_FR[rec.automatic[r.id].result]
                cell.comment = Comment(
                    f"Automatique : {auto}. Correction : {o.reason} {o.by}".strip(), "Liaison"
                )
    ws.freeze_panes = "B2"
    ws.column_dimensions["A"].width = 16

    wc = wb.create_sheet("Critères")
    wc.append(
        [
            "Ordre",
            "Critère",
            "Bloquant",
            "Statut",
            "Priorité nationale",
            "Oui",
            "Non",
            "NA",
            "Taux",
            "IC bas",
            "IC haut",
        ]
    )
    for cid, c in data["criteria"].items():
        ci = c["ci95"] or [None, None]
        wc.append(
            safe_row(
                [
                    c["order"],
                    f"{c['label_fr']} ({cid})",
                    "oui" if c["gate"] else "",
                    c["status_fr"],
                    "oui" if c["national_priority"] else "",
                    c["met"],
                    c["not_met"],
                    c["not_applicable"],
                    c["rate"],
                    ci[0],
                    ci[1],
                ]
            )
        )
    for cell in wc[1]:
        cell.font = Font(bold=True)

    summary = wb.create_sheet("Synthèse")
    full = data["full"]
    for label, value in [
        ("Grille", f"{audit.grid.id} ({audit.grid.title_fr})"),
        ("Empreinte sha-256 de la grille", audit.grid.sha256),
        ("Mode", data["mode"]),
        ("Graine du tirage", audit.draw.seed),
        ("Séjours éligibles", audit.draw.population_size),
        ("Empreinte de la population", audit.draw.population_sha256),
        ("Dossiers évalués", data["n"]),
        ("Lettres conformes", data["compliant"]),
        ("Taux", data["rate"]),
        ("IC 95 % bas (Wilson)", (data["ci95"] or [None])[0]),
        ("IC 95 % haut (Wilson)", (data["ci95"] or [None, None])[1]),
        ("Classe", data["class"]),
        ("Score v1 moyen", data["score_v1"]["mean"]),
        ("Tous les séjours éligibles : taux", full["rate"]),
        ("Tous les séjours éligibles : classe", full["class"]),
    ]:
        summary.append(safe_row([label, value]))
    for ws_ in (wc, summary):
        ws_.column_dimensions["B"].width = 60 if ws_ is wc else 70
    summary.column_dimensions["A"].width = 40
    wb.save(path)
    return path
