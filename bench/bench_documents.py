"""Bench of `liaison.documents`: CDA build, validation (cold / warm), PDF/A rendering.

Run: `.venv/bin/python bench/bench_documents.py [--runs 5] [--full]`. Prints medians of several
runs. Targets: build ≤ 5 ms/letter, validation ≤ 50 ms/document warm, PDF ≤ 30 ms/letter.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.documents.sample_letters

from tests.documents import sample_letters as letters
from tests.documents.test_cda import SHAPES

from liaison.documents.cda import DocumentId, build_cda
from liaison.documents.pdf import letter_data, render_pdf
from liaison.documents.validation import LdlSesValidator


def median_ms(fn: Callable[[int], object], n: int, runs: int) -> float:
    """Median over `runs` of the mean time of `n` calls, in ms."""
    samples = []
    for r in range(runs):
        t = time.perf_counter()
        for i in range(n):
            fn(r * n + i)
        samples.append((time.perf_counter() - t) * 1000 / n)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--full", action="store_true", help="include StrucMin (≈ 12 s to compile)")
    args = ap.parse_args()
    runs = args.runs
    contents = [make() for make in SHAPES.values()]

    def meta(i: int):
        return letters.meta(id=DocumentId("1.2.250.1.999.1.1", f"BENCH-{i}"))

    # 1. build
    build = median_ms(lambda i: build_cda(contents[i % len(contents)], meta(i)), 200, runs)
    print(f"CDA build           : {build:7.2f} ms/lettre   (cible ≤ 5)")

    # 2. validation
    docs = [build_cda(contents[i % len(contents)], meta(i)) for i in range(len(contents) * 3)]
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        validator = LdlSesValidator(cache_dir=Path(tmp), full=args.full)
        cold_empty = time.perf_counter() - t
        t = time.perf_counter()
        validator = LdlSesValidator(cache_dir=Path(tmp), full=args.full)
        cold_cached = time.perf_counter() - t
    first = time.perf_counter()
    validator.validate(docs[0])
    first_ms = (time.perf_counter() - first) * 1000
    for d in docs:  # warm-up (JIT, value-set caches)
        validator.validate(d)
    warm = median_ms(lambda i: validator.validate(docs[i % len(docs)]), len(docs), runs)
    many = median_ms(lambda i: validator.validate_many(docs), 1, runs) / len(docs)
    parse = median_ms(lambda i: etree.fromstring(docs[i % len(docs)]), 200, runs)
    print(
        f"validateur, froid   : {cold_empty:7.2f} s (cache vide), {cold_cached:.2f} s (XSL en cache)"
        f"{' — avec StrucMin' if args.full else ''}"
    )
    print(f"1er document        : {first_ms:7.1f} ms")
    print(
        f"validation, chaud   : {warm:7.2f} ms/document (cible ≤ 50) ; validate_many {many:.2f} ms/document"
    )
    print(
        f"parse lxml seul     : {parse:7.3f} ms/document ; rapport validation / parse = {warm / parse:.0f}×"
    )
    breakdown(validator, docs[0], runs)

    # 3. PDF (varied documents, so that Typst's memoisation cannot serve a previous result)
    cdas = {i: build_cda(contents[i % len(contents)], meta(i)) for i in range(40 * runs)}
    render_pdf(contents[0], meta(0), cdas[0])  # fonts
    pdf = median_ms(lambda i: render_pdf(contents[i % len(contents)], meta(i), cdas[i]), 40, runs)
    print(f"PDF/A-3b            : {pdf:7.2f} ms/lettre   (cible ≤ 30)")
    concurrent_pdf(contents, meta, cdas, runs)
    weasy(contents, meta, pdf, runs)


def concurrent_pdf(contents: list, meta: Callable[[int], object], cdas: dict, runs: int) -> None:
    """Four threads rendering at once: the compiler pool against one compiler behind a lock."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from liaison.documents import pdf as pdf_module

    lock = threading.Lock()

    def render(i: int) -> bytes:
        return render_pdf(contents[i % len(contents)], meta(i), cdas[i % len(cdas)])

    def locked(i: int) -> bytes:
        with lock:
            return render(i)

    def batch(fn: Callable[[int], bytes]) -> Callable[[int], None]:
        def run(r: int) -> None:
            with ThreadPoolExecutor(max_workers=4) as ex:
                list(ex.map(fn, range(r * 40, r * 40 + 40)))

        return run

    timings = {}
    for name, fn in (("pool", render), ("lock", locked)):
        pdf_module._compilers = pdf_module.CompilerPool()  # a fresh pool per strategy
        batch(fn)(0)  # fonts
        timings[name] = median_ms(batch(fn), 1, runs) / 40
        created = pdf_module._compilers.created
        if name == "pool":
            pool_created = created
    print(
        f"PDF, 4 fils         : {timings['pool']:7.2f} ms/lettre, pool ({pool_created} compilateurs) ; "
        f"un seul compilateur sous verrou {timings['lock']:.2f} ms/lettre ; "
        f"rapport verrou / pool = {timings['lock'] / timings['pool']:.2f}×"
    )


def breakdown(validator: LdlSesValidator, cda: bytes, runs: int) -> None:
    from liaison.documents.validation import liaison_findings, terminology_findings

    tree = etree.ElementTree(etree.fromstring(cda))
    text = etree.tostring(tree.getroot(), encoding="unicode")
    node = validator._proc.parse_xml(xml_text=text)
    parts = {
        "xsd": lambda i: validator._xsd.validate(tree),
        "saxon parse": lambda i: validator._proc.parse_xml(xml_text=text),
        **{f"sch {name}": _transform(exe, node) for name, exe in validator._exes.items()},
        "terminologie": lambda i: terminology_findings(tree),
        "liaison": lambda i: liaison_findings(tree),
    }
    print(
        "  détail : " + ", ".join(f"{k} {median_ms(fn, 20, runs):.2f}" for k, fn in parts.items()) + " (ms)"
    )


def _transform(exe: object, node: object) -> Callable[[int], object]:
    return lambda i: exe.transform_to_string(xdm_node=node)


def weasy(contents: list, meta: Callable[[int], object], typst_ms: float, runs: int) -> None:
    try:
        import weasyprint
    except ImportError:
        print("WeasyPrint non installé : comparaison ignorée (pip install weasyprint).")
        return
    import html

    def to_html(i: int) -> str:
        d = letter_data(contents[i % len(contents)], meta(i))
        rows = "".join(
            f"<tr><td>{html.escape(m['medicine'])}</td><td>{html.escape(m['dosage'])}</td>"
            f"<td>{html.escape(m['duration'])}</td><td>{m['status']}</td><td>{html.escape(m['why'])}</td></tr>"
            for m in d["home_medications"]
        )
        return (
            f"<html lang='fr'><body><h1>{d['title']}</h1><p>{html.escape(d['patient']['name'])}</p>"
            f"<h2>Motif</h2><p>{html.escape(d['reason'])}</p><h2>Synthèse</h2><p>{html.escape(d['summary'])}</p>"
            f"<table>{rows}</table></body></html>"
        )

    weasyprint.HTML(string=to_html(0)).write_pdf(pdf_variant="pdf/a-3b")
    ms = median_ms(lambda i: weasyprint.HTML(string=to_html(i)).write_pdf(pdf_variant="pdf/a-3b"), 10, runs)
    print(
        f"WeasyPrint (HTML équivalent simplifié) : {ms:.1f} ms/lettre ; rapport WeasyPrint / Typst = "
        f"{ms / typst_ms:.1f}×"
    )


if __name__ == "__main__":
    main()
