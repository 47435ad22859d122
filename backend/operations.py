"""Operations endpoints: readiness and Prometheus metrics."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response, get
from prometheus_client import CONTENT_TYPE_LATEST

from backend.jobs.services import queue_depth
from backend.metrics import exposition

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


@get("/metrics", include_in_schema=False, cache=False)
async def metrics() -> Response[bytes]:
    """Prometheus text format, added up over every server process in multiprocess mode
    (backend/metrics.py); the job queue depth is read from the database."""
    try:
        depth: dict[tuple[str, str], int] | None = await queue_depth()
    except Exception:
        logger.exception("job queue depth unavailable")
        depth = None
    return Response(exposition(depth), media_type=CONTENT_TYPE_LATEST)
