"""`python -m bench.load`: HTTP load on the signer landing page and the status API.

A second process (Debian's ``wrk``) drives a real server on loopback: ``uvicorn
--workers N`` serving SignLink, then the same uvicorn serving a minimal Litestar app that
renders a small Jinja2 template -- the ceiling, measured in the same run. Targets:

- ``landing``: ``GET /s/<token>`` -- token lookup, envelope and signers from the database,
  the full signer page (several envelopes, requests rotate over their links);
- ``status``: ``GET /api/v1/envelopes/{id}`` with the demo organisation's Bearer key.

Both servers run side by side; every target runs for a fixed time (``--duration``, 10 s)
with ``--connections`` (64), stops early after ``--max-requests``, and the targets take
turns for ``--rounds`` (2) rounds -- the medians are reported, so that a shared machine's
changing load hits all of them alike. ``--db sqlite`` uses a throwaway data directory;
``--db postgres`` runs itself again under ``scripts/with-postgres.sh`` (a throwaway
PostgreSQL on loopback); ``--db both`` (the default) does both. Prints requests/s, p50,
p99 and the ratio to the ceiling, the servers' CPU time per request, and for SignLink the
p50/p99 of the time spent inside the app (its request log); ``--json FILE`` keeps the
figures.

Goal (issue 4): landing page >= 1/4 of the ceiling's requests/s, with p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from jinja2 import DictLoader, Environment
from litestar import Litestar, get
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

# ---------------------------------------------------------------- the ceiling app

CEILING_TEMPLATE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><main><h1>{{ title }}</h1>
<ul>{% for item in items %}<li>{{ loop.index }}. {{ item }}</li>{% endfor %}</ul>
<p>{{ note }}</p></main></body></html>
"""


def ceiling_app() -> Litestar:
    """The ceiling: a minimal Litestar app rendering a small Jinja2 template."""
    env = Environment(loader=DictLoader({"page.html": CEILING_TEMPLATE}), autoescape=True)

    @get("/")
    async def page() -> Template:
        return Template(
            "page.html",
            context={
                "title": "签署《汽车买卖合同》",
                "items": ["阅读合同", "短信验证", "手写签名"],
                "note": "演示汽车销售服务有限公司 邀请您签署",
            },
        )

    return Litestar(
        route_handlers=[page],
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(env)),
        debug=False,
    )


# ---------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(app: str, workers: int, port: int) -> None:
    """``uvicorn --workers N``, but with a listening socket that asks for IPPROTO_TCP.

    uvicorn's own ``bind_socket()`` (used by ``--workers N``) leaves ``proto`` at 0; the
    accepted sockets inherit it and asyncio then never sets TCP_NODELAY, so each response
    after the first on a keep-alive connection waits ~40 ms for the client's delayed ACK
    (https://github.com/Kludex/uvicorn/issues/3149). Same supervisor, same workers."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        app, factory=True, host="127.0.0.1", port=port, workers=workers,
        access_log=False, log_level="warning",
        loop=os.environ.get("BENCH_LOOP", "auto"), http=os.environ.get("BENCH_HTTP", "auto"),
    )  # fmt: skip
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.set_inheritable(True)
    Multiprocess(config, sockets=[sock]).run()


class Server:
    """N worker processes in their own process group, stopped on exit: ``serve()`` above,
    or with ``--server uvicorn`` the plain ``uvicorn --workers N`` command line."""

    def __init__(
        self, app: str, workers: int, env: dict[str, str], log: Path, kind: str = "fixed"
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if kind == "uvicorn":
            cmd = [
                PYTHON, "-m", "uvicorn", app, "--factory",
                "--host", "127.0.0.1", "--port", str(self.port),
                "--workers", str(workers), "--no-access-log", "--log-level", "warning",
            ]  # fmt: skip
        else:
            cmd = [PYTHON, "-m", "bench.load", "serve", app, str(workers), str(self.port)]
        self.log = log
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, path: str, timeout: float = 60) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited; see {self.log}:\n{self.log.read_text()[-2000:]}"
                )
            try:
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready in {timeout}s; see {self.log}")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server's processes: the
        supervisor and its workers, all in the process group started here. Unlike
        requests/s, CPU per request hardly moves with what the neighbours do."""
        ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[2]) == self.proc.pid:  # pgrp
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------- wrk

WRK_SCRIPT = """
local paths = {%(paths)s}
local headers = {%(headers)s}
local limit = %(limit)d
local counter = 0
local sent = 0
function request()
  sent = sent + 1
  return wrk.format("GET", paths[(sent %% #paths) + 1], headers)
end
function response(status, hdrs, body)
  counter = counter + 1
  if counter >= limit then wrk.thread:stop() end
end
"""

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


@dataclass
class Result:
    target: str
    database: str
    workers: int
    connections: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    ratio: float | None = None
    rounds: int = 1
    cpu_ms: float | None = None  # server CPU time per request (all its processes)
    cpu_ratio: float | None = None  # the ceiling's cpu_ms / this one's
    # Time inside the app per request (request line to last byte handed to the server),
    # from SignLink's own request log: what the app spends, apart from queueing.
    app_p50_ms: float | None = None
    app_p99_ms: float | None = None


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def lua_string(s: str) -> str:
    return json.dumps(s)  # a JSON string literal is a valid Lua string literal here


def run_wrk(
    url: str,
    paths: list[str],
    headers: dict[str, str],
    args: argparse.Namespace,
    target: str,
    database: str,
    workdir: Path,
) -> Result:
    script = workdir / f"{target}.lua"
    threads = max(1, args.threads)
    script.write_text(
        WRK_SCRIPT
        % {
            "paths": ", ".join(lua_string(p) for p in paths),
            "headers": ", ".join(
                f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items()
            ),
            "limit": max(1, args.max_requests // threads),
        }
    )
    cmd = [
        "wrk", f"-t{threads}", f"-c{args.connections}", f"-d{args.duration}s",
        "--timeout", "5s", "--latency", "-s", str(script), url,
    ]  # fmt: skip
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=args.duration + 60, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    done = re.search(r"(\d+) requests in ([\d.]+)(\w+),", out)
    assert done, out
    seconds = float(done.group(2)) * _UNITS[done.group(3)] / 1000
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(g) for g in m.groups())
    return Result(
        target, database, args.workers, args.connections, round(seconds, 1),
        int(done.group(1)), round(rps, 1), round(p50, 2), round(p99, 2), errors,
    )  # fmt: skip


# ---------------------------------------------------------------- SignLink set-up


def prepare(env: dict[str, str]) -> None:
    """Migrate, seed the demo organisation and create the CA before the workers start
    (two workers creating one CA at the same moment would race)."""
    code = (
        "import asyncio\n"
        "from backend.config import get_settings\n"
        "from backend.database import migrate\n"
        "from backend.orgs.services import seed_demo\n"
        "from backend import signing\n"
        "s = get_settings()\n"
        "migrate()\n"
        "asyncio.run(seed_demo(s.data_dir / 'demo-api-key'))\n"
        "signing.CertificateAuthority.load_or_create(s.pki_dir, s.master_key_bytes(),"
        " public_url=s.public_url, key_algorithm=s.ca_key_algorithm)\n"
    )
    subprocess.run(
        [PYTHON, "-c", code], cwd=ROOT, env=env, check=True, timeout=300, stdout=subprocess.DEVNULL
    )


def make_envelopes(url: str, key: str, outbox: Path, count: int) -> tuple[list[str], list[str]]:
    """``count`` car-purchase envelopes via the API; their buyers' links from the SMS outbox."""
    import httpx

    sys.path.insert(0, str(ROOT))
    from tests.integration.journey import car_purchase_body

    auth = {"Authorization": f"Bearer {key}"}
    ids, phones = [], []
    with httpx.Client(base_url=url, headers=auth, timeout=120) as client:
        for i in range(count):
            buyer, dealer = f"1370000{i:04d}", f"1360000{i:04d}"
            made = client.post("/api/v1/envelopes", json=car_purchase_body(buyer, dealer))
            assert made.status_code == 201, made.text
            ids.append(made.json()["id"])
            phones.append(buyer)
        links: dict[str, str] = {}
        deadline = time.monotonic() + 120
        while len(links) < count:
            assert time.monotonic() < deadline, "signing SMS did not arrive"
            rows = [json.loads(line) for line in outbox.read_text().splitlines() if line]
            for row in rows:
                m = re.search(r"https?://\S+?(/s/[A-Za-z0-9_-]+)", row["text"])
                if m and row["to"] in phones:
                    links[row["to"]] = m.group(1)
            time.sleep(0.2)
        paths = [links[p] for p in phones]
        for path in paths:  # the first view writes (viewed_at); every later one only reads
            page = client.get(path)
            assert page.status_code == 200 and 'data-testid="otp-send"' in page.text, page.text
        for env_id in ids:
            status = client.get(f"/api/v1/envelopes/{env_id}")
            assert status.status_code == 200, status.text
    return paths, ids


def measure_database(args: argparse.Namespace, database: str) -> list[Result]:
    work = Path(tempfile.mkdtemp(prefix=f"signlink-load-{database}-"))
    try:
        env = {
            **os.environ,
            "SIGNLINK_DATA_DIR": str(work / "var"),
            "SIGNLINK_LOG_FORMAT": "json",
            "PYTHONPATH": str(ROOT),
            # /metrics adds up the worker processes, as in a deployment (backend/metrics.py)
            "PROMETHEUS_MULTIPROC_DIR": str(work / "metrics"),
        }
        (work / "metrics").mkdir()
        prepare(env)
        key = (work / "var" / "demo-api-key").read_text().strip()
        app, log = "backend.app:create_app", work / "signlink.log"
        with (
            Server(
                "bench.load:ceiling_app", args.workers, env, work / "ceiling.log", args.server
            ) as ceiling_srv,
            Server(app, args.workers, env, log, args.server) as srv,
        ):
            ceiling_srv.wait_ready("/")
            srv.wait_ready("/healthz")
            paths, ids = make_envelopes(
                srv.url, key, work / "var" / "sms-outbox.jsonl", args.envelopes
            )
            auth = {"Authorization": f"Bearer {key}"}
            servers = {"ceiling": ceiling_srv, "landing": srv, "status": srv}
            targets = [
                ("ceiling", ceiling_srv.url, ["/"], {}),
                ("landing", srv.url, paths, {}),
                ("status", srv.url, [f"/api/v1/envelopes/{i}" for i in ids], auth),
            ]
            for name, url, paths_, headers in targets:
                run_wrk(url, paths_, headers, _warm(args), name, database, work)
            # Rounds interleave the targets, so drift in a shared machine's load hits all.
            rounds: dict[str, list[Result]] = {name: [] for name, *_ in targets}
            for _ in range(args.rounds):
                for name, url, paths_, headers in targets:
                    before = servers[name].cpu_seconds()
                    logged = log.stat().st_size
                    result = run_wrk(url, paths_, headers, args, name, database, work)
                    spent = servers[name].cpu_seconds() - before
                    result.cpu_ms = round(spent * 1000 / max(result.requests, 1), 3)
                    if name != "ceiling":
                        result.app_p50_ms, result.app_p99_ms = app_times(log, logged)
                    rounds[name].append(result)
        results = [_median(rs) for rs in rounds.values()]
        ceiling = results[0]
        for r in results:
            r.ratio = round(r.rps / ceiling.rps, 3) if ceiling.rps else None
            if r.cpu_ms and ceiling.cpu_ms:
                r.cpu_ratio = round(ceiling.cpu_ms / r.cpu_ms, 3)
        return results
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def app_times(log: Path, offset: int) -> tuple[float | None, float | None]:
    """p50 and p99 of the ``ms`` SignLink logs per request (backend/app.py), for the
    lines written after ``offset``."""
    times = []
    with log.open("rb") as f:
        f.seek(offset)
        for line in f:
            if not line.startswith(b"{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("msg") == "request" and "ms" in entry:
                times.append(float(entry["ms"]))
    if not times:
        return None, None
    times.sort()
    return times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]


def _median(results: list[Result]) -> Result:
    """One figure per target: the median of the rounds (requests and errors summed)."""
    first = results[0]
    return Result(
        first.target, first.database, first.workers, first.connections,
        round(sum(r.seconds for r in results), 1), sum(r.requests for r in results),
        round(statistics.median(r.rps for r in results), 1),
        round(statistics.median(r.p50_ms for r in results), 2),
        round(statistics.median(r.p99_ms for r in results), 2),
        sum(r.errors for r in results), rounds=len(results),
        cpu_ms=statistics.median(r.cpu_ms or 0.0 for r in results),
        app_p50_ms=_median_of([r.app_p50_ms for r in results]),
        app_p99_ms=_median_of([r.app_p99_ms for r in results]),
    )  # fmt: skip


def _median_of(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _warm(args: argparse.Namespace) -> argparse.Namespace:
    """A short warm-up (imports, template compilation, connection pools) before each run."""
    return argparse.Namespace(**{**vars(args), "duration": 2, "max_requests": 2000})


def table(results: list[Result]) -> str:
    lines = [
        f"{'database':<10} {'target':<9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'ratio':>6} {'cpu ms/req':>10} {'cpu ratio':>9} {'app p50':>7} {'app p99':>7} "
        f"{'requests':>9} {'errors':>6}"
    ]
    for r in results:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
        cpu = f"{r.cpu_ms:.3f}" if r.cpu_ms else "-"
        cpu_ratio = f"{r.cpu_ratio:.2f}" if r.cpu_ratio is not None else "-"
        app50 = f"{r.app_p50_ms:.2f}" if r.app_p50_ms is not None else "-"
        app99 = f"{r.app_p99_ms:.2f}" if r.app_p99_ms is not None else "-"
        lines.append(
            f"{r.database:<10} {r.target:<9} {r.rps:>9.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} "
            f"{ratio:>6} {cpu:>10} {cpu_ratio:>9} {app50:>7} {app99:>7} {r.requests:>9} "
            f"{r.errors:>6}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:  # the server side, started by Server
        serve(argv[1], int(argv[2]), int(argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument(
        "--server",
        choices=["fixed", "uvicorn"],
        default="fixed",
        help="fixed: uvicorn's supervisor with a TCP_NODELAY-capable listener (default); "
        "uvicorn: plain `uvicorn --workers N` (Nagle + delayed ACK: ~40 ms per response)",
    )
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--duration", type=int, default=10, help="seconds per target and round")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per target")
    parser.add_argument("--max-requests", type=int, default=500_000, help="cap per target")
    parser.add_argument("--envelopes", type=int, default=4, help="landing links to rotate over")
    parser.add_argument(
        "--loop",
        choices=["auto", "asyncio", "uvloop"],
        default="auto",
        help="uvicorn's event loop (auto: uvloop when installed)",
    )
    parser.add_argument(
        "--http",
        choices=["auto", "h11", "httptools"],
        default="auto",
        help="uvicorn's HTTP parser (auto: httptools when installed)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args(argv)
    os.environ["BENCH_LOOP"], os.environ["BENCH_HTTP"] = args.loop, args.http

    if not shutil.which("wrk"):
        print("wrk is required: apt-get install -y wrk (Debian package)", file=sys.stderr)
        return 2
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; {args.workers} "
        f"uvicorn workers ({args.server}, loop {args.loop}, http {args.http}); "
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s",
        file=sys.stderr,
    )
    results: list[Result] = []
    if args.db in ("sqlite", "both"):
        env_db = os.environ.pop("DATABASE_URL", None)
        try:
            results += measure_database(args, "sqlite")
        finally:
            if env_db is not None:
                os.environ["DATABASE_URL"] = env_db
    if args.db in ("postgres", "both"):
        if os.environ.get("DATABASE_URL"):
            results += measure_database(args, "postgres")
        else:
            results += _postgres_in_child(args)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return 0


def _postgres_in_child(args: argparse.Namespace) -> list[Result]:
    """Run the PostgreSQL half under scripts/with-postgres.sh, on a port of its own."""
    out = Path(tempfile.mkstemp(prefix="signlink-load-", suffix=".json")[1])
    try:
        argv = [
            "bash", str(ROOT / "scripts" / "with-postgres.sh"), PYTHON, "-m", "bench.load",
            "--db", "postgres", "--json", str(out),
            "--workers", str(args.workers), "--connections", str(args.connections),
            "--threads", str(args.threads), "--duration", str(args.duration),
            "--rounds", str(args.rounds),
            "--max-requests", str(args.max_requests), "--envelopes", str(args.envelopes),
            "--server", args.server, "--loop", args.loop, "--http", args.http,
        ]  # fmt: skip
        if args.keep:
            argv.append("--keep")
        env = {**os.environ, "SIGNLINK_TEST_PGPORT": str(free_port())}
        subprocess.run(argv, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, timeout=900)
        return [Result(**r) for r in json.loads(out.read_text())]
    finally:
        out.unlink(missing_ok=True)


if __name__ == "__main__":
    raise SystemExit(main())
