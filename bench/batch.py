"""`python -m bench.batch`: one agreement's render, and a batch of 1,000 car purchases.

Prints medians in milliseconds and, as the other benches do, their ratio to an in-process
baseline (SHA-256 over 32 MiB) measured in the same run, so numbers compare across
machines; the render also against a Python-heavy baseline timed in the same rounds
(:func:`render_ms` says why). The batch runs on a throwaway SQLite data dir: accept 1,000
rows (checks, drafts, signers, render jobs and every first SMS, held, in one transaction:
the first clock), then the job worker renders every document, which releases its SMS (the
second clock: the last document rendered), and sends them (the third: the last first SMS
handed to the outbox SMS provider).

    python -m bench.batch [--rows 1000] [--renders 15] [--processes 2]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import resource
import statistics
import tempfile
import time
from datetime import date, timedelta
from typing import Any

from bench.timing import measure


def baseline_ms() -> float:
    block = os.urandom(32 * 1024 * 1024)
    return measure(lambda: hashlib.sha256(block).digest(), 5)


def python_work() -> None:
    """A Python-heavy baseline (objects, dicts, strings; what a render is made of): JSON
    out and back of 20,000 small records, then a sort. Unlike SHA-256 (one instruction
    loop over a buffer), it slows down with the host the way a render does."""
    import json

    records = [{"n": i, "name": f"签署人{i}", "tags": [i % 7, i % 11]} for i in range(20_000)]
    back = json.loads(json.dumps(records, ensure_ascii=False))
    back.sort(key=lambda r: (r["tags"][1], r["name"]))


def car_item(n: int) -> dict[str, Any]:
    return {
        "data": {
            "buyer": {"name": "张三", "phone": f"138{n:08d}", "id_number": "11010519491231002X"},
            "vehicle": {"model": "比亚迪 汉 EV 2026款 冠军版", "vin": "LGXCE6CD9R0123456",
                        "colour": "星际灰"},
            "price": 189800,
            "deposit": 5000,
            "delivery_date": (date.today() + timedelta(days=14)).isoformat(),
            "dealer": {"name": "演示汽车销售服务有限公司", "address": "北京市朝阳区望京街10号"},
        },
        "signers": [
            {"role": "buyer", "name": "张三", "phone": f"138{n:08d}"},
            {"role": "dealer", "name": "李经理", "phone": f"139{n:08d}"},
        ],
    }  # fmt: skip


def render_ms(rounds: int) -> dict[str, float]:
    """One render against the Python baseline, interleaved round by round.

    On this shared VM a render's time swings with the neighbours' load (the same code read
    128 and 229 ms within the hour, while the SHA-256 baseline held within 3 %). Each round
    times the baseline and then a render back to back, so both see the same host: the
    median of the per-round ratios is the figure that compares across hours and machines.
    Also the medians, the fastest render (the cost with the least interference) and the
    median CPU time of a render, in milliseconds."""
    from backend import documents

    template = documents.get_template("car-purchase")
    assert template is not None
    data = template.validate(car_item(1)["data"])

    def once() -> None:
        documents.render_document(
            template,
            data,
            document_number="SL-BENCH-1",
            signers={"buyer": "张三", "dealer": "李经理"},
        )

    once()  # warm-up: fonts, stylesheets
    python_work()
    wall, cpu, base, ratios = [], [], [], []
    for _ in range(rounds):
        started = time.perf_counter()
        python_work()
        base.append(time.perf_counter() - started)
        started, started_cpu = time.perf_counter(), time.process_time()
        once()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        ratios.append(wall[-1] / base[-1])
    return {
        "median": statistics.median(wall) * 1000,
        "cpu": statistics.median(cpu) * 1000,
        "fastest": min(wall) * 1000,
        "python_baseline": statistics.median(base) * 1000,
        "ratio": statistics.median(ratios),
    }


async def batch_seconds(rows: int, processes: int) -> dict[str, float]:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from backend.app import register_background_work
    from backend.config import get_settings
    from backend.database import prepare_sqlite
    from backend.documents.rendering import use_render_processes
    from backend.envelopes import batch, services
    from backend.jobs import services as jobs
    from backend.jobs.tables import Job
    from backend.orgs.services import authenticate, seed_demo

    result = await run_forwards(app_name="all")
    assert result.success, result.message
    await prepare_sqlite()
    settings = get_settings()
    caller = await authenticate(await seed_demo(settings.data_dir / "demo-api-key"))
    assert caller is not None
    register_background_work(settings)
    use_render_processes(processes)
    items = [car_item(n) for n in range(rows)]

    ours = resource.getrusage(resource.RUSAGE_SELF)
    pool = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = (ours.ru_utime + ours.ru_stime, pool.ru_utime + pool.ru_stime)
    started = time.perf_counter()
    out = await batch.create_batch(caller, "car-purchase", items, settings)
    accepted = time.perf_counter() - started
    assert out.accepted == rows, out.errors[:3]
    held = await Job.count().where(Job.kind == "sms.invitation")
    assert held == rows, held  # every buyer's SMS is stored with the batch

    async def pending(kind: str) -> int:
        return await Job.count().where((Job.kind == kind) & (Job.status != "done"))

    workers = max(processes, 1) * 4
    while await pending(services.RENDER_JOB):
        await jobs.run_pending(limit=workers)
    rendered = time.perf_counter() - started
    invitations = await Job.count().where(Job.kind == "sms.invitation")
    assert invitations == rows, invitations  # released, none queued twice
    while await pending("sms.invitation"):
        await jobs.run_pending(limit=50)
    sent = time.perf_counter() - started
    use_render_processes(0)  # waits for and reaps the render processes
    ours = resource.getrusage(resource.RUSAGE_SELF)
    pool = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = {
        "cpu_main": ours.ru_utime + ours.ru_stime - cpu_before[0],
        "cpu_render_processes": pool.ru_utime + pool.ru_stime - cpu_before[1],
    }
    return cpu | {
        "accepted_sms_queued": accepted,
        "all_rendered": rendered,
        "first_sms_sent": sent,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--renders", type=int, default=15)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    os.environ["SIGNLINK_DATA_DIR"] = tempfile.mkdtemp(prefix="signlink-bench-")
    os.environ.setdefault("SIGNLINK_LOG_LEVEL", "WARNING")
    os.environ.setdefault("SIGNLINK_LOG_FORMAT", "text")
    os.environ["PICCOLO_CONF"] = "backend.piccolo_conf"
    from backend.documents import fonts

    if not fonts.compact_fonts_ready():
        print("building the compact fonts once (~1 min)…")
        fonts.build_compact_fonts()

    base = baseline_ms()
    render = render_ms(args.renders)
    print(f"baseline  sha256(32 MiB)            {base:8.1f} ms")
    print(f"baseline  Python work (median)      {render['python_baseline']:8.1f} ms")
    print(
        f"render    car purchase (median)     {render['median']:8.1f} ms   "
        f"ratio {render['median'] / base:5.2f} to SHA-256, {render['ratio']:5.2f} to Python work"
    )
    print(f"          CPU time (median)         {render['cpu']:8.1f} ms")
    shown = f"fastest of {args.renders}"
    print(f"          {shown:<24}{render['fastest']:8.1f} ms")
    print("          target ≤ 150 ms")
    timings = asyncio.run(batch_seconds(args.rows, args.processes))
    cpu = {name: timings.pop(name) for name in ("cpu_main", "cpu_render_processes")}
    for name, seconds in timings.items():
        print(
            f"batch     {args.rows} rows {name:<19} {seconds:8.1f} s    "
            f"ratio {seconds * 1000 / base:7.1f}"
        )
    total = sum(cpu.values())
    cores = max(args.processes, 1)
    print(
        f"cpu       main {cpu['cpu_main']:.1f} s + render processes "
        f"{cpu['cpu_render_processes']:.1f} s = {total:.1f} s "
        f"({total * 1000 / args.rows:.0f} ms an envelope; even on {cores} otherwise idle "
        f"cores that is at least {total / cores:.1f} s of wall time)"
    )
    print(
        f"          ({args.processes} render processes; target: accepted with every first "
        "SMS queued ≤ 60 s; a held SMS goes out once its document is rendered)"
    )


if __name__ == "__main__":
    main()
