"""``oslonac``: run the embedded platform, one service, migrations, topics, outbox replay, docs."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from datetime import datetime
from pathlib import Path

from oslonac import registry


def _cmd_run(args: argparse.Namespace) -> None:
    from oslonac.supervisor import PlatformConfig, run_platform

    if os.environ.get("OSLONAC_ENV", "development") == "production":
        raise SystemExit(
            "oslonac run is the embedded demo platform (demo users, in-memory broker); "
            "in production run each service with `oslonac serve`"
        )
    config = PlatformConfig(
        data_dir=Path(os.environ.get("OSLONAC_DATA_DIR", "var")),
        port=int(os.environ.get("OSLONAC_PORT", "8000")),
        demo_password=os.environ.get("OSLONAC_DEMO_PASSWORD", "demo"),
        seed=not args.no_seed,
    )
    asyncio.run(run_platform(config))


def _cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from oslonac.serving import CalmServer
    from shared.settings import Settings

    settings = Settings(service=args.service)
    app = registry.create_app(args.service)(settings)
    # A long keep-alive: a reverse proxy in front pools connections, and one the server closed while idle
    # would cost a POST a 503 (the proxy never resends a non-idempotent request).
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_keep_alive=75,
        # Our logging (JSON lines, shared/observability/logging.py), not uvicorn's plain-text handlers.
        log_config=None,
        # Open requests and streams get this long after SIGTERM (then the runtime stops within 1.4 s).
        timeout_graceful_shutdown=1,
    )
    server = CalmServer(config)
    server.run()
    if not server.started:  # as uvicorn.run: a failed start-up is an error exit, so the supervisor sees it
        raise SystemExit(3)


def _cmd_migrate(args: argparse.Namespace) -> None:
    from shared.db import migrate_sync
    from shared.settings import Settings

    settings = Settings(service=args.service)
    migrate_sync(settings.resolved_database_url(), registry.migrations_dir(args.service))
    print(f"{args.service}: migrated to head")


def _cmd_topics(_args: argparse.Namespace) -> None:
    from shared.messaging.kafka import ensure_topics
    from shared.settings import KafkaSettings

    created = asyncio.run(ensure_topics(KafkaSettings()))
    print(json.dumps({"created": created}))


def _cmd_replay(args: argparse.Namespace) -> None:
    from shared.db import create_engine
    from shared.messaging.outbox import replay
    from shared.settings import Settings

    settings = Settings(service=args.service)
    since = datetime.fromisoformat(args.since) if args.since else None

    async def run() -> int:
        engine = create_engine(settings.resolved_database_url())
        try:
            return await replay(engine, registry.plumbing(args.service), since=since)
        finally:
            await engine.dispose()

    count = asyncio.run(run())
    print(f"{args.service}: {count} events marked for republishing; the service's relay sends them when it runs")


def _cmd_rebuild(args: argparse.Namespace) -> None:
    from services.reporting.rebuild import run
    from shared.settings import Settings

    settings = Settings(service="reporting")
    result = run(settings, args.database_url, args.commit_group)
    print(
        json.dumps(
            {
                "records": result.events,
                "applied": result.applied,
                "duplicates": result.duplicates,
                "ignored": result.ignored,
                "dead_lettered": result.dead_lettered,
                "seconds": round(result.seconds, 2),
                "records_per_second": round(result.events_per_second),
            }
        )
    )


def _cmd_docs(args: argparse.Namespace) -> None:
    from shared.events.asyncapi import write_catalogue

    paths = write_catalogue(Path(args.out))
    for path in paths:
        print(f"wrote {path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="oslonac", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="the embedded platform: broker, four services, one origin")
    run.add_argument("--no-seed", action="store_true", help="do not register demo households")
    run.set_defaults(func=_cmd_run)

    serve = sub.add_parser("serve", help="run one service (what a container runs)")
    serve.add_argument("service", choices=registry.SERVICES)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=_cmd_serve)

    migrate = sub.add_parser("migrate", help="apply a service's migrations to OSLONAC_DATABASE_URL")
    migrate.add_argument("service", choices=registry.SERVICES)
    migrate.set_defaults(func=_cmd_migrate)

    topics = sub.add_parser("topics", help="create every topic with its partition count")
    topics.set_defaults(func=_cmd_topics)

    replay = sub.add_parser("outbox-replay", help="republish a service's events after the broker lost them")
    replay.add_argument("service", choices=registry.SERVICES)
    replay.add_argument("--since", help="only events created at or after this ISO time")
    replay.set_defaults(func=_cmd_replay)

    rebuild = sub.add_parser(
        "reporting-rebuild", help="replay every topic reporting reads into a fresh store (docs/reporting.md)"
    )
    rebuild.add_argument("--database-url", required=True, help="an empty database, e.g. sqlite+aiosqlite:///new.db")
    rebuild.add_argument("--commit-group", help="make the replayed positions this consumer group's offsets")
    rebuild.set_defaults(func=_cmd_rebuild)

    docs = sub.add_parser("docs", help="write the AsyncAPI event catalogue")
    docs.add_argument("--out", default="docs")
    docs.set_defaults(func=_cmd_docs)

    args = parser.parse_args(argv)
    args.func(args)
