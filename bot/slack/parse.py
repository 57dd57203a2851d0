"""A stored Slack message event in, one `Inquiry` out: the Slack twin of mail/parse."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from responders.models import Attachment, Inquiry
from responders.text import strip_quoted

# Slack's markup for links, mentions and channels: <https://x|label>, <@U123>, <#C1|name>.
_LINK = re.compile(r"<([^<>|]+)\|([^<>]+)>")
_BARE = re.compile(r"<(https?://[^<>]+|mailto:[^<>]+)>")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def message_id(channel: str, ts: str) -> str:
    """The Message-ID a Slack message is stored under: threads find their root by it."""
    return f"slack:{channel}:{ts}"


def event_bytes(event: dict) -> bytes:
    """What is kept of a message event: the fields intake reads, nothing else."""
    keep = ("channel", "channel_type", "user", "text", "ts", "thread_ts", "team", "files")
    kept = {k: event[k] for k in keep if k in event}
    if "files" in kept:  # names and sizes only, as for mail attachments
        kept["files"] = [
            {"name": f.get("name", ""), "mimetype": f.get("mimetype", ""), "size": f.get("size", 0)}
            for f in kept["files"]
        ]
    return json.dumps(kept, ensure_ascii=False).encode()


def plain_text(text: str) -> str:
    text = _LINK.sub(lambda m: m[2], text)  # a labelled link shows its label
    text = _BARE.sub(lambda m: m[1].removeprefix("mailto:"), text)
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text


def parse_event(raw: bytes) -> Inquiry:
    event = json.loads(raw)
    if not isinstance(event, dict) or not event.get("channel") or not event.get("ts"):
        raise ValueError("Slack event without channel or ts")
    channel, ts = event["channel"], event["ts"]
    thread_ts = event.get("thread_ts")
    body = plain_text(event.get("text") or "")
    return Inquiry(
        channel="slack",
        message_id=message_id(channel, ts),
        sender=event.get("user") or "",
        sender_name="",
        subject="",
        body=body,
        text=strip_quoted(body),
        received_at=datetime.fromtimestamp(float(ts), UTC),
        in_reply_to=message_id(channel, thread_ts) if thread_ts and thread_ts != ts else None,
        attachments=tuple(
            Attachment(f["name"], f["mimetype"], int(f["size"])) for f in event.get("files", ())
        ),
        headers=(("x-slack-channel-type", event.get("channel_type", "")),),
    )


def is_direct(inquiry: Inquiry) -> bool:
    return inquiry.header("x-slack-channel-type") == "im"


def slack_place(inquiry: Inquiry) -> tuple[str, str]:
    """(channel, thread ts) where an answer to this message goes."""
    _, channel, ts = inquiry.message_id.split(":", 2)
    root = inquiry.in_reply_to.split(":", 2)[2] if inquiry.in_reply_to else ts
    return channel, root
