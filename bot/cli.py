"""The `inquiry-desk` command: serve, classify, tickets, status, sla, digest."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import sys
from pathlib import Path

from bot.config import Config, ConfigError, load_config

EXIT_CONFIG = 2


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", metavar="FILE", help="TOML file with the settings to change (default: embedded)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inquiry-desk",
        description="Answers and tracks the inquiries of a Personal Information Inquiry Center.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="run the service (SMTP receiver, intake, outbox)",
        description="Run the service until SIGINT or SIGTERM.",
    )
    _config_arg(serve)

    classify = sub.add_parser(
        "classify",
        help="sort messages without storing or answering them",
        description="Print one JSON object per message: category, categories, "
        "request_types, deputy, language, confidence, needs_human, reasons.",
    )
    _config_arg(classify)
    classify.add_argument(
        "files",
        nargs="*",
        metavar="FILE.eml",
        help=".eml files to classify (default: one message on stdin)",
    )
    classify.add_argument(
        "--jsonl",
        nargs="?",
        const="-",
        metavar="FILE|-",
        help="read JSON lines with subject and body (and optional id, "
        "from, channel) from FILE or stdin instead",
    )

    tickets = sub.add_parser(
        "tickets",
        help="list tickets with category, status and due time",
        description="List the newest tickets.",
    )
    _config_arg(tickets)
    tickets.add_argument("--limit", type=int, default=50, help="how many (default 50)")
    tickets.add_argument(
        "--overdue", action="store_true", help="only open tickets past their due time"
    )
    tickets.add_argument("--now", metavar="ISO", help="with --overdue: as if it were this instant")

    sla = sub.add_parser(
        "sla",
        help="response clocks: due times and a ticket's clock",
        description="Answer questions about response timeframes on the business calendar.",
    )
    sla_sub = sla.add_subparsers(dest="sla_command", required=True, metavar="QUESTION")
    due = sla_sub.add_parser(
        "due",
        help="print the due time (ISO 8601) of a message received at a given instant",
        description="Print the due time, as ISO 8601, of a ticket of CATEGORY received at "
        "RECEIVED_ISO (an ISO 8601 instant with its offset).",
    )
    _config_arg(due)
    due.add_argument("category", choices=["complaint", "disclosure_request", "consultation"])
    due.add_argument("received", metavar="RECEIVED_ISO")
    due.add_argument(
        "--request-type",
        metavar="T",
        help="a disclosure request type; 'fulfilment' gives the clock that starts when "
        "the documents arrive",
    )
    explain = sla_sub.add_parser(
        "explain",
        help="print a ticket's clock: started, due, business time elapsed and remaining",
    )
    _config_arg(explain)
    explain.add_argument("ticket", metavar="TICKET", help="e.g. INQ-2026-000123")
    explain.add_argument("--now", metavar="ISO", help="as if it were this instant")

    digest = sub.add_parser(
        "digest",
        help="write the managers' digest without sending it",
        description="Render the digest from the store, as it would be sent.",
    )
    _config_arg(digest)
    digest.add_argument("--preview", action="store_true", required=True, help="do not send")
    digest.add_argument("--now", metavar="ISO", help="as if it were this instant")
    digest.add_argument("--out", metavar="FILE.html", required=True, help="where to write")

    status = sub.add_parser(
        "status",
        help="show the health each part of the service reported",
        description="Show the last state each long-running part "
        "(such as an IMAP watcher) reported. Exit code 1 "
        "when any part is unhealthy.",
    )
    _config_arg(status)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = load_config(args.config)
        level = logging.getLevelName(cfg.service.log_level.upper())
        if args.command != "serve":
            # A batch command's stderr is for its own progress and for trouble; the
            # service's narration (such as where the model came from) is noise there.
            level = max(level, logging.WARNING)
        logging.basicConfig(
            level=level,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        # aiosmtpd logs every envelope address at INFO: personal data stays out of logs.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        # APScheduler narrates every job addition and run at INFO; the sweep runs each minute.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        if args.command == "serve":
            return _serve(cfg)
        if args.command == "classify":
            return _classify(cfg, args)
        if args.command == "status":
            return asyncio.run(_status(cfg))
        if args.command == "sla":
            return _sla(cfg, args)
        if args.command == "digest":
            return asyncio.run(_digest(cfg, args))
        now = _instant(args.now, "--now")
        return asyncio.run(_tickets(cfg, args.limit, now, overdue=args.overdue))
    except ConfigError as exc:
        print(f"inquiry-desk: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def _serve(cfg: Config) -> int:
    from bot.service import Service

    service = Service(cfg)
    try:
        asyncio.run(service.run_until_signalled())
    except OSError as exc:
        rec = cfg.smtp_receiver
        print(
            f"inquiry-desk: cannot listen on {rec.host}:{rec.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    return 0


def _classify(cfg: Config, args: argparse.Namespace) -> int:
    from bot.mail.parse import parse_message
    from bot.resources import load_lexicon
    from responders.classify import classify, classify_text
    from responders.text import strip_quoted

    lexicon = load_lexicon(cfg)
    options = {"needs_human_threshold": cfg.classifier.needs_human_threshold}
    out = sys.stdout
    if args.jsonl is not None:
        stream = sys.stdin if args.jsonl == "-" else open(args.jsonl, encoding="utf-8")  # noqa: SIM115
        show_progress = sys.stderr.isatty()
        with stream:
            for n, line in enumerate(stream, 1):
                if not line.strip():
                    continue
                record = _jsonl_record(line)
                if "error" not in record:
                    cls = classify_text(
                        record.pop("_subject"),
                        strip_quoted(record.pop("_body")),
                        lexicon,
                        **options,
                    )
                    record.update(cls.as_dict())
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                if show_progress and n % 100 == 0:
                    print(f"\r{n} messages", end="", file=sys.stderr)
        if show_progress:
            print(file=sys.stderr)
        return 0
    sources = [(f, Path(f).read_bytes()) for f in args.files] or [("-", sys.stdin.buffer.read())]
    for name, raw in sources:
        cls = classify(parse_message(raw), lexicon, **options)
        out.write(json.dumps({"file": name, **cls.as_dict()}, ensure_ascii=False) + "\n")
    return 0


def _jsonl_record(line: str) -> dict:
    """The output skeleton for one input line, or an error record that keeps the batch going."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        record: dict = {"error": f"invalid JSON: {exc.msg}"}
        try:  # recover the id from a line that is JSON-like enough
            found = re.search(r'"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)', line)
            if found:
                record = {"id": json.loads(found[1]), **record}
        except json.JSONDecodeError:
            pass
        return record
    if not isinstance(data, dict):
        return {"error": "each line must be a JSON object"}
    record = {"id": data.get("id")}
    subject, body = data.get("subject", ""), data.get("body")
    if not isinstance(body, str) or not isinstance(subject, str):
        return {**record, "error": "subject and body must be strings"}
    return {**record, "_subject": subject, "_body": body}


async def _read_store(cfg: Config, query):
    """Open the store, run one query, close it again."""
    from bot.store.repo import Store

    store = Store(cfg.store_url)
    try:
        await store.create_schema()
        return await query(store)
    finally:
        await store.close()


async def _status(cfg: Config) -> int:
    rows = await _read_store(cfg, lambda store: store.health())
    for row in rows:
        print(
            f"{row.component:<24} {row.state:<10} {row.updated_at:%Y-%m-%d %H:%M:%S}Z  {row.detail}"
        )
    if not rows:
        print("(nothing reported yet)")
    return 1 if any(row.state == "unhealthy" for row in rows) else 0


def _instant(value: str | None, what: str):
    """An aware datetime from the command line, or now."""
    from datetime import UTC, datetime

    if value is None:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"{what} must be an ISO 8601 instant, not {value!r}") from exc
    if when.tzinfo is None:
        raise ConfigError(f"{what} needs a UTC offset, e.g. {value}+09:00")
    return when


def _sla(cfg: Config, args: argparse.Namespace) -> int:
    from bot.sla.calendar import BusinessCalendar
    from bot.sla.targets import target_for

    calendar = BusinessCalendar.from_config(cfg.sla)
    if args.sla_command == "explain":
        return asyncio.run(_explain(cfg, calendar, args.ticket, _instant(args.now, "--now")))
    received = _instant(args.received, "RECEIVED_ISO")
    stage = "fulfilment" if args.request_type == "fulfilment" else "response"
    target = target_for(cfg.sla, category=args.category, stage=stage, needs_human=False)
    print(target.due(calendar, received).isoformat())
    return 0


async def _explain(cfg: Config, calendar, number: str, now) -> int:
    from datetime import timedelta

    from sqlalchemy import select

    from bot.sla.targets import target_for
    from bot.store.tables import Escalation, Ticket

    async def find(store):
        async with store.session() as s:
            ticket = await s.scalar(select(Ticket).where(Ticket.number == number))
            if ticket is None:
                return None, []
            steps = await s.scalars(
                select(Escalation)
                .where(
                    Escalation.ticket_id == ticket.id,
                    Escalation.at >= ticket.clock_started_at,
                )
                .order_by(Escalation.at)
            )
            return ticket, list(steps)

    ticket, steps = await _read_store(cfg, find)
    if ticket is None:
        print(f"inquiry-desk: no ticket {number}", file=sys.stderr)
        return 1
    tz = calendar.tz
    target = target_for(
        cfg.sla, category=ticket.category, stage=ticket.stage, needs_human=ticket.needs_human
    )
    hour = timedelta(hours=1)
    stopped = ticket.status != "open"
    end = (ticket.answered_at or ticket.closed_at or now) if stopped else now
    elapsed = calendar.elapsed(ticket.clock_started_at, end) / hour
    total = calendar.elapsed(ticket.clock_started_at, ticket.due_at) / hour
    rows = [
        ("ticket", f"{ticket.number} ({ticket.category}, {ticket.status})"),
        ("target", f"{target.name} = {target}"),
        ("clock started", ticket.clock_started_at.astimezone(tz).isoformat()),
        ("due", ticket.due_at.astimezone(tz).isoformat()),
        ("business hours", f"{total:.1f} in the target"),
        ("elapsed", f"{elapsed:.1f} business hours" + (" (clock stopped)" if stopped else "")),
    ]
    if not stopped:
        left = total - elapsed
        rows.append(
            (
                "remaining",
                f"{left:.1f} business hours"
                if left >= 0
                else f"overdue by {-left:.1f} business hours",
            )
        )
        rows.append(("open now", "yes" if calendar.is_open(now) else "no (clock paused)"))
    for step in steps:
        rows.append((step.step, step.at.astimezone(tz).isoformat()))
    for label, value in rows:
        print(f"{label + ':':<16} {value}")
    return 0


async def _digest(cfg: Config, args: argparse.Namespace) -> int:
    from bot.resources import load_reply_kit
    from bot.sla.calendar import BusinessCalendar
    from bot.sla.digest import DigestMaker
    from bot.slack.queue import SlackQueue
    from bot.store.repo import Store
    from bot.tickets import Tickets

    now = _instant(args.now, "--now")
    tickets = Tickets(cfg.sla, BusinessCalendar.from_config(cfg.sla), SlackQueue(False))
    store = Store(cfg.store_url)
    try:
        await store.create_schema()
        maker = DigestMaker(cfg, store, tickets, load_reply_kit(cfg).env, lambda: None)
        digest = await maker.render(now)
    finally:
        await store.close()
    Path(args.out).write_text(digest.html, encoding="utf-8")
    Path(args.out).with_suffix(".txt").write_text(digest.text, encoding="utf-8")
    print(f"{digest.subject}\nwrote {args.out} and {Path(args.out).with_suffix('.txt')}")
    return 0


async def _tickets(cfg: Config, limit: int, now, *, overdue: bool = False) -> int:
    from zoneinfo import ZoneInfo

    rows = await _read_store(cfg, lambda store: store.tickets(limit, now if overdue else None))
    tz = ZoneInfo(cfg.sla.timezone)
    header = f"{'TICKET':<16} {'CATEGORY':<19} {'STATUS':<9} {'DUE':<17} {'LANG':<4} NOTE"
    print(header)
    for ticket, failed in rows:
        notes = []
        if ticket.needs_human:
            notes.append("needs human")
        if ticket.status == "open" and ticket.due_at <= now:
            notes.append("overdue")
        if failed:
            notes.append(f"{failed} reply failed" if failed == 1 else f"{failed} replies failed")
        due = ticket.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        print(
            f"{ticket.number:<16} {ticket.category:<19} {ticket.status:<9} {due:<17} "
            f"{ticket.language:<4} {', '.join(notes)}"
        )
    if not rows:
        print("(no tickets)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
