"""Operator commands: `python -m backend.manage migrate|seed|env-example|blobs-to-store`."""

from __future__ import annotations

import asyncio
import sys

from backend.config import get_settings


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    settings = get_settings()
    if command == "migrate":
        from backend.database import migrate

        migrate()
        return 0
    if command == "seed":
        from backend.orgs.services import seed_demo

        key_file = settings.data_dir / "demo-api-key"
        asyncio.run(seed_demo(key_file))
        print(f"demo organisation ready; API key in {key_file}")
        return 0
    if command == "env-example":
        from backend.config import env_example

        print(env_example(), end="")
        return 0
    if command == "blobs-to-store":
        from backend.storage import copy_database_blobs

        copied, present, refused = asyncio.run(copy_database_blobs(settings))
        print(f"{copied} copied, {present} already there, {len(refused)} failed their hash check")
        for name in refused:
            print(f"not copied (content does not match its hash): {name}", file=sys.stderr)
        return 1 if refused else 0
    print(
        "usage: python -m backend.manage migrate|seed|env-example|blobs-to-store",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
