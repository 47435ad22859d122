"""Operations endpoints: readiness and Prometheus metrics."""

from __future__ import annotations

import logging
import os
from typing import Any

from litestar import Request, Response, get
from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from backend.jobs.services import queue_depth
from backend.metrics import JOB_QUEUE

logger = logging.getLogger("signlink.operations")
_migrations_ok = False


async def pending_migrations() -> list[str]:
    """Checked-in migrations the database has not run (empty once up to date)."""
    global _migrations_ok
    if _migrations_ok:
        return []
    from piccolo.apps.migrations.commands.base import BaseMigrationManager
    from piccolo.apps.migrations.tables import Migration

    manager = BaseMigrationManager()
    missing: list[str] = []
    for app in manager.get_app_registry().app_configs.values():
        known = manager.get_migration_ids(
            manager.get_migration_modules(str(app.migrations_folder_path))
        )
        ran = set(await Migration.get_migrations_which_ran(app_name=app.app_name))
        missing += [f"{app.app_name}:{m}" for m in known if m not in ran]
    _migrations_ok = not missing
    return missing


@get("/readyz", include_in_schema=False, cache=False)
async def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Ready for traffic: database reachable, migrations applied, CA loaded."""
    checks: dict[str, str] = {}
    try:
        missing = await pending_migrations()
        checks["database"] = "ok"
        checks["migrations"] = "ok" if not missing else f"{len(missing)} not applied"
    except Exception:
        logger.exception("readiness check failed")
        checks["database"] = "unreachable"
        checks["migrations"] = "unknown"
    checks["ca"] = "ok" if getattr(request.app.state, "ca", None) is not None else "not loaded"
    ready = all(v == "ok" for v in checks.values())
    return Response(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )


def prometheus_config() -> PrometheusConfig:
    return PrometheusConfig(
        app_name="signlink",
        prefix="signlink",
        group_path=True,  # label by route template, never by a path holding a token
        exclude_unhandled_paths=True,
        exclude=["^/metrics", "^/static/"],
    )


@get("/metrics", include_in_schema=False, cache=False)
async def metrics() -> Response[bytes]:
    """Prometheus text format; the job queue gauge is read from the database first."""
    try:
        depth = await queue_depth()
    except Exception:
        logger.exception("job queue depth unavailable")
    else:
        JOB_QUEUE.clear()
        for (kind, status), n in depth.items():
            JOB_QUEUE.labels(kind, status).set(n)
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
