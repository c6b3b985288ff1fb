"""Bench of the MSSanté channel: deliveries/s to a local Postfix (STARTTLS + client certificate,
LMTP to Dovecot) with 2 `liaison worker --once` processes, each reusing one SMTP connection.
Target ≥ 30/s. Needs root (Postfix and Dovecot are started on loopback, installed if missing) and
PostgreSQL on 127.0.0.1:5432 (a scratch database `liaison_mss_bench` is recreated).

Run: `.venv/bin/python bench/bench_mssante.py [--mails 300] [--runs 3] [--workers 2]`.
Prints, per run, the wall rate (process start to exit) and the steady rate (first claim to last
`sent`), then the medians.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))

from tests.delivery.mailpeers import MailPeers  # noqa: E402

from benchdb import recreate  # noqa: E402

DB = "liaison_mss_bench"
APP = "lettre-de-liaison@ch-de-test.mssante.fr"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mails", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="liaison-bench-mss-"))
    peers = MailPeers(base).start()
    try:
        db_url = recreate(DB)
        app = peers.client(APP)
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "DJANGO_SETTINGS_MODULE": "liaison.web.settings",
            "LIAISON_MSS_SMTP": f"smtp+starttls://127.0.0.1:{peers.smtp_port}",
            "LIAISON_MSS_CERT": str(app.cert),
            "LIAISON_MSS_KEY": str(app.key),
            "LIAISON_MSS_CA": str(peers.ca),
            "LIAISON_MSS_FROM": APP,
        }
        env.pop("LIAISON_DMP_URL", None)
        cli = [sys.executable, "-m", "liaison.cli"]
        subprocess.run([*cli, "migrate", "-v0"], env=env, check=True)
        subprocess.run([*cli, "demo-data", "--stays", "20", "--seed", "1"], env=env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        os.environ.update(
            {"DATABASE_URL": env["DATABASE_URL"], "DJANGO_SETTINGS_MODULE": "liaison.web.settings"}
        )
        import django

        django.setup()
        from django.db.models import Max, Min
        from django.utils import timezone

        from liaison.delivery.models import Delivery
        from liaison.letters.models import Letter

        letter = Letter.objects.filter(document__isnull=False).first()
        assert letter is not None, "no signed letter in the demo data"
        walls, steadies = [], []
        for run in range(args.runs):
            Delivery.objects.exclude(state__in=["sent", "given_up"]).update(state="given_up")
            now = timezone.now()
            rows = Delivery.objects.bulk_create(
                Delivery(
                    letter=letter,
                    channel="mssante",
                    recipient_role="autre",
                    recipient_name=f"Dr Bench {i}",
                    recipient_address=f"bench{run}.{i}@medecin.mssante.fr",
                    next_attempt_at=now,
                )
                for i in range(args.mails)
            )
            ids = [d.pk for d in rows]
            t0 = time.perf_counter()
            procs = [
                subprocess.Popen([*cli, "worker", "--once"], env=env, stdout=subprocess.DEVNULL)
                for _ in range(args.workers)
            ]
            for p in procs:
                p.wait()
            wall = time.perf_counter() - t0
            qs = Delivery.objects.filter(pk__in=ids)
            states = set(qs.values_list("state", flat=True))
            assert states == {"sent"}, f"not all sent: {states}"
            span = qs.aggregate(a=Min("claimed_at"), b=Max("sent_at"))
            steady = (span["b"] - span["a"]).total_seconds()
            workers = qs.values("claimed_by").distinct().count()
            walls.append(args.mails / wall)
            steadies.append(args.mails / steady)
            print(
                f"run {run + 1}: {args.mails} mails, {workers} workers: {args.mails / wall:.1f}/s wall "
                f"({wall:.2f} s), {args.mails / steady:.1f}/s steady ({steady:.2f} s)"
            )
        print(
            f"median over {args.runs} runs: {statistics.median(walls):.1f} deliveries/s wall, "
            f"{statistics.median(steadies):.1f} deliveries/s steady (target ≥ 30/s)"
        )
    finally:
        peers.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
