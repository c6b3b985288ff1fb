"""Charts rendered on the server (Altair → Vega-Lite → SVG with vl-convert, no browser), so the
same SVG goes into the web page and into the Typst PDF report. Pure Python, no Django.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import altair as alt
import vl_convert as vlc

FONT = "DejaVu Sans"
MONTHS_FR = [
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
]
COLOURS = ["#1f3a60", "#c0504d", "#4f8a3c", "#e08a1e", "#7a5195", "#2a9d8f"]


def _svg(chart: alt.Chart) -> str:
    spec = chart.configure(font=FONT).configure_view(strokeWidth=0).to_dict()
    return vlc.vegalite_to_svg(spec)


def month_label(m: dt.date) -> str:
    return f"{MONTHS_FR[m.month - 1]} {m:%y}"


def trend(series: Mapping[str, Sequence[tuple[dt.date, float | None]]], title: str, width: int = 560) -> str:
    """Monthly rates (0–1), one line per indicator label."""
    rows = [
        {"mois": month_label(m), "ordre": m.isoformat(), "indicateur": label, "taux": v}
        for label, points in series.items()
        for m, v in points
        if v is not None
    ]
    order = [month_label(m) for m in sorted({m for pts in series.values() for m, _ in pts})]
    chart = (
        alt.Chart(alt.Data(values=rows), title=title, width=width, height=220)
        .mark_line(point=True)
        .encode(
            x=alt.X("mois:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("taux:Q", title="taux", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            color=alt.Color(
                "indicateur:N",
                scale=alt.Scale(range=COLOURS),
                legend=alt.Legend(orient="bottom", columns=2, title=None, labelLimit=400),
            ),
            tooltip=["indicateur:N", "mois:N", alt.Tooltip("taux:Q", format=".1%")],
        )
    )
    return _svg(chart)


def compare(values: Sequence[tuple[str, float | None, int]], title: str, target: float | None = None) -> str:
    """One bar per unit (label, rate, denominator), with an optional target line."""
    rows = [{"service": f"{s} (n = {n})", "taux": v} for s, v, n in values if v is not None]
    bars = (
        alt.Chart(alt.Data(values=rows), title=title, width=420, height=max(60, 24 * len(rows)))
        .mark_bar(color=COLOURS[0])
        .encode(
            y=alt.Y("service:N", sort="-x", title=None, axis=alt.Axis(labelLimit=300)),
            x=alt.X("taux:Q", title=None, scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            tooltip=["service:N", alt.Tooltip("taux:Q", format=".1%")],
        )
    )
    if target is not None:
        rule = alt.Chart(alt.Data(values=[{"cible": target}])).mark_rule(color=COLOURS[1]).encode(x="cible:Q")
        return _svg(alt.layer(bars, rule))
    return _svg(bars)


def distribution(buckets: Sequence[tuple[str, int]], title: str) -> str:
    """Counts of stays per delay bucket (J0, J+1, …, never), in the given order."""
    rows = [{"délai": label, "séjours": n} for label, n in buckets]
    chart = (
        alt.Chart(alt.Data(values=rows), title=title, width=420, height=180)
        .mark_bar(color=COLOURS[0])
        .encode(
            x=alt.X("délai:N", sort=[label for label, _ in buckets], title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("séjours:Q", title="séjours"),
            tooltip=["délai:N", "séjours:Q"],
        )
    )
    return _svg(chart)
