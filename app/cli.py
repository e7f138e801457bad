"""The ``isp-support`` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path

from app.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "demo", False):
        overrides["demo"] = True
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None):
        overrides["port"] = args.port
    return Settings(**overrides)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        # One object per line for a log shipper: timestamp, level, logger, message.
        handler.setFormatter(JsonFormatter(LOG_FORMAT, rename_fields={"levelname": "level", "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler], force=True)
    if settings.log_level.upper() != "DEBUG":
        logging.getLogger("alembic").setLevel(logging.WARNING)  # a line per plugin on every start
    # Never, even at DEBUG: aiosqlite logs every SQL parameter (SMS codes, password
    # hashes) and Twilio's client logs request headers (credentials).
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)


def cmd_serve(args: argparse.Namespace) -> int:
    from app.server import WorkersNeedSharedState, serve

    settings = _settings(args)
    _logging(settings)
    workers = args.workers or settings.workers
    print(
        f"isp-support: web chat on http://{settings.host}:{settings.port}/  "
        f"(API: /openapi.json, agent console: /console, health: /healthz, metrics: /metrics; {workers} process(es))",
        flush=True,
    )
    try:
        serve(settings, workers)
    except WorkersNeedSharedState as error:
        print(f"isp-support: {error}", file=sys.stderr)
        return 2
    return 0


class ProgressBar:
    """``  hashing  412000/1000000  41%  [########-----------]  35,120 rows/s  17 s left``
    on stderr, redrawn in place."""

    WIDTH = 20

    def __init__(self, stage: str, stream=sys.stderr) -> None:
        self.stage = stage
        self.stream = stream
        self.started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = done / elapsed
        share = done / total if total else 1.0
        left = (total - done) / rate if rate > 0 else 0.0
        filled = int(share * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        print(
            f"\r  {self.stage}  {done}/{total}  {share:4.0%}  [{bar}]  {rate:,.0f} rows/s  {left:.0f} s left ",
            end="", file=self.stream, flush=True,
        )


async def _import(settings: Settings, path: Path, hash_profile: str, *, dry_run: bool = False, workers: int | None = None) -> int:
    from storage import make_engine, make_sessionmaker
    from app.container import PASSWORD_PROFILES, make_directory
    from billing.importer import SubscriberImportError, check_subscribers, import_subscribers
    from migrations.runner import upgrade

    directory = make_directory(settings)
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
        sessions = make_sessionmaker(engine)
        started = time.monotonic()
        try:
            if dry_run:
                rows = await check_subscribers(sessions, directory, path, workers=workers)
                print(f"{rows} rows are valid; nothing was written (--dry-run), in {time.monotonic() - started:.1f} s")
                return 0
            report = await import_subscribers(
                sessions, directory, path, progress=ProgressBar("hashing"), profile=PASSWORD_PROFILES[hash_profile],
                workers=workers,
            )
        except SubscriberImportError as error:
            print(f"\n{error}", file=sys.stderr)
            return 1
        print(file=sys.stderr)
        print(
            f"imported {report.rows} rows: {report.created} new, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.trust_payments} trust payments recorded, "
            f"in {report.seconds:.1f} s ({report.rows_per_second:,.0f} rows/s)"
        )
        return 0
    finally:
        await engine.dispose()


def cmd_import(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _logging(settings)
    if not args.file.exists():
        print(f"no such file: {args.file}", file=sys.stderr)
        return 2
    return asyncio.run(_import(settings, args.file, args.hash_profile, dry_run=args.dry_run, workers=args.workers))


def cmd_parse(args: argparse.Namespace) -> int:
    from reference.directory import Directory, default_directory
    from dialogs.nlu import NLU
    from dialogs.nlu.cli import run_parse

    settings = Settings()
    directory = Directory(settings.reference_dir) if settings.reference_dir else default_directory()
    run_parse(sys.stdin, sys.stdout, NLU(directory))
    return 0


async def _outbox(settings: Settings, limit: int) -> int:
    from storage import make_engine, make_sessionmaker
    from bots.sms.outbox import pending_outbox
    from migrations.runner import upgrade

    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
        rows = await pending_outbox(make_sessionmaker(engine), limit)
        for row in rows:
            print(json.dumps({"id": row.id, "phone": row.phone, "text": row.text,
                              "status": row.status, "created_at": row.created_at.isoformat()}, ensure_ascii=False))
        if not rows:
            print("outbox is empty", file=sys.stderr)
        return 0
    finally:
        await engine.dispose()


def cmd_outbox(args: argparse.Namespace) -> int:
    settings = _settings(args)
    return asyncio.run(_outbox(settings, args.limit))


def cmd_migrate(args: argparse.Namespace) -> int:
    from storage import make_engine
    from migrations.runner import upgrade

    settings = _settings(args)
    _logging(settings)

    async def run() -> None:
        engine = make_engine(settings.database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    print("database is at the newest schema")
    return 0


def cmd_telegram(args: argparse.Namespace) -> int:
    from bots.telegram.config import TelegramNotConfigured
    from bots.telegram.runner import run_polling, set_webhook

    settings = _settings(args)
    _logging(settings)
    try:
        if args.action == "set-webhook":
            url = asyncio.run(set_webhook(settings))
            print(f"webhook registered: {url}")
            return 0

        async def poll() -> None:
            from app.container import build_container

            container = await build_container(settings)
            try:
                await run_polling(settings, container)
            finally:
                await container.close()

        asyncio.run(poll())
        return 0
    except TelegramNotConfigured as error:
        print(f"Telegram is not configured: {error}", file=sys.stderr)
        return 2


def cmd_viber(args: argparse.Namespace) -> int:
    from bots.viber import ViberError, ViberNotConfigured, set_webhook

    settings = _settings(args)
    _logging(settings)
    try:
        url = asyncio.run(set_webhook(settings, send_name=args.send_name, send_photo=args.send_photo))
    except ViberNotConfigured as error:
        print(f"Viber is not configured: {error}", file=sys.stderr)
        return 2
    except ViberError as error:
        print(f"Viber refused the webhook: {error}", file=sys.stderr)
        return 1
    print(f"webhook registered: {url}")
    return 0


def cmd_actions(args: argparse.Namespace) -> int:
    from app.container import build_container
    from bots.rasa import run_action_server

    settings = _settings(args)
    _logging(settings)
    run_action_server(settings, args.port or 5055, build_container=build_container)
    return 0


# -- agents of the console ------------------------------------------------------------------------
async def _agents(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import timedelta

    from app.container import PASSWORD_PROFILES
    from dispatcher.agents import AgentExists, Agents, UnknownAgent
    from migrations.runner import upgrade
    from reference.directory import Directory, default_directory
    from storage import make_engine, make_sessionmaker

    directory = Directory(settings.reference_dir) if settings.reference_dir else default_directory()
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
        agents = Agents(
            make_sessionmaker(engine), directory, profile=PASSWORD_PROFILES[settings.password_hash_profile],
            session_idle=timedelta(minutes=settings.console_session_idle_minutes),
            presence_timeout=timedelta(seconds=settings.console_presence_timeout_seconds),
        )
        try:
            if args.action == "add":
                password = args.password or _ask_password()
                agent = await agents.add(args.login, password, cities=args.cities, departments=args.departments,
                                         supervisor=args.supervisor, name=args.name)
                print(f"agent {agent.login} added")
            elif args.action == "list":
                for agent in await agents.list():
                    scope = agent.to_dict()
                    print(f"{agent.login}\t{agent.name}\tcities={','.join(scope['cities'])}\t"
                          f"departments={','.join(scope['departments'])}\t"
                          f"{'supervisor' if agent.supervisor else 'agent'}\t{'disabled' if agent.disabled else 'active'}")
            elif args.action == "disable":
                await agents.disable(args.login)
                print(f"agent {args.login} disabled (sessions ended)")
            elif args.action == "password":
                await agents.set_password(args.login, args.password or _ask_password())
                print(f"password of {args.login} changed (sessions ended)")
        except AgentExists:
            print(f"agent {args.login} already exists", file=sys.stderr)
            return 1
        except UnknownAgent:
            print(f"no agent {args.login}", file=sys.stderr)
            return 1
        except ValueError as error:
            print(str(error), file=sys.stderr)
            return 2
        return 0
    finally:
        await engine.dispose()


def _ask_password() -> str:
    import getpass

    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise ValueError("the passwords differ")
    return first


def cmd_agents(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _logging(settings)
    return asyncio.run(_agents(settings, args))


def _agents_parser(sub) -> None:
    agents = sub.add_parser("agents", help="agents of the console: add, list, disable, password")
    actions = agents.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add an agent")
    add.add_argument("login")
    add.add_argument("--password", help="prompted when omitted")
    add.add_argument("--cities", required=True, help='"Уфа,Москва" or "all"')
    add.add_argument("--departments", required=True, help='"subscriber,tech" or "all"')
    add.add_argument("--supervisor", action="store_true", help="sees every queue, the statistics and the audit log")
    add.add_argument("--name", help="shown to subscribers (default: the login)")
    actions.add_parser("list", help="list agents")
    disable = actions.add_parser("disable", help="disable an agent and end their sessions")
    disable.add_argument("login")
    password = actions.add_parser("password", help="set a new password (prompted when --password is omitted)")
    password.add_argument("login")
    password.add_argument("--password")
    agents.set_defaults(func=cmd_agents)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="isp-support", description="Support chatbot and callback dispatcher")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP app (web chat, webhooks, console)")
    serve.add_argument("--demo", action="store_true", help="load the demo subscribers into an empty database")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--workers", type=int, help="server processes (gunicorn + uvicorn workers; >1 needs REDIS_URL); default WORKERS or 1"
    )
    serve.set_defaults(func=cmd_serve)

    imp = sub.add_parser("import-subscribers", help="import (upsert) subscribers from a CSV file")
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--hash-profile",
        choices=["bulk", "standard"],
        default="bulk",
        help="argon2 cost for imported passwords: bulk (default; ~25 rows/s a core, upgraded to "
        "standard at each subscriber's first login) or standard (~3 rows/s a core)",
    )
    imp.add_argument("--dry-run", action="store_true", help="validate only: every check, nothing written")
    imp.add_argument("--workers", type=int, help="processes for validating and hashing (default: every core)")
    imp.set_defaults(func=cmd_import)

    parse = sub.add_parser("parse", help="NLU: one utterance per line on stdin → one JSON object per line")
    parse.set_defaults(func=cmd_parse)

    outbox = sub.add_parser("outbox", help="print SMS waiting in the outbox (when Twilio is not configured)")
    outbox.add_argument("--limit", type=int, default=50)
    outbox.set_defaults(func=cmd_outbox)

    migrate = sub.add_parser("migrate", help="bring the database to the newest schema")
    migrate.set_defaults(func=cmd_migrate)

    actions = sub.add_parser("actions", help="run the rasa-sdk action server (skills as Rasa custom actions)")
    actions.add_argument("--port", type=int, help="default 5055")
    actions.set_defaults(func=cmd_actions)

    telegram = sub.add_parser("telegram", help="Telegram bot: register the webhook, or long-poll")
    telegram.add_argument("action", choices=["set-webhook", "poll"])
    telegram.set_defaults(func=cmd_telegram)

    viber = sub.add_parser("viber", help="Viber bot: register the webhook")
    viber.add_argument("action", choices=["set-webhook"])
    viber.add_argument("--send-name", action=argparse.BooleanOptionalAction, default=True,
                       help="Viber includes the subscriber's name in callbacks (default: yes)")
    viber.add_argument("--send-photo", action=argparse.BooleanOptionalAction, default=False,
                       help="Viber includes the subscriber's photo in callbacks (default: no)")
    viber.set_defaults(func=cmd_viber)
    _agents_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
