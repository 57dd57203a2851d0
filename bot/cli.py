"""The `inquiry-desk` command: serve, classify, tickets."""

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
        logging.basicConfig(
            level=cfg.service.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        # aiosmtpd logs every envelope address at INFO: personal data stays out of logs.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        if args.command == "serve":
            return _serve(cfg)
        if args.command == "classify":
            return _classify(cfg, args)
        if args.command == "status":
            return asyncio.run(_status(cfg))
        return asyncio.run(_tickets(cfg, args.limit))
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


async def _tickets(cfg: Config, limit: int) -> int:
    from zoneinfo import ZoneInfo

    rows = await _read_store(cfg, lambda store: store.tickets(limit))
    tz = ZoneInfo(cfg.sla.timezone)
    header = f"{'TICKET':<16} {'CATEGORY':<19} {'STATUS':<9} {'DUE':<17} {'LANG':<4} NOTE"
    print(header)
    for ticket, failed in rows:
        notes = []
        if ticket.needs_human:
            notes.append("needs human")
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
