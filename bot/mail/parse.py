"""Raw RFC 5322 bytes in, one `Inquiry` out.

Decodes every charset Japanese mail arrives in (see `charset`), quoted-printable and
base64, RFC 2047 words and RFC 2231 file names; prefers the text part of an alternative;
converts HTML-only mail to text; records attachments by name, type and size only.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from email import message_from_bytes
from email.header import decode_header
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime

from bot.mail.charset import decode_bytes
from bot.mail.html import html_to_text
from responders.models import Attachment, Inquiry
from responders.text import strip_quoted

_MSGID = re.compile(r"<[^<>\s]+>")


def decode_header_value(value: str | None) -> str:
    """Decode RFC 2047 words and raw 8-bit bytes in a header, whatever the charset."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    # compat32 keeps raw 8-bit header bytes as surrogate escapes; recover the bytes.
    raw = value.encode("ascii", "surrogateescape")
    if any(b >= 0x80 for b in raw):
        return _unfold(decode_bytes(raw)[0])
    out: list[str] = []
    try:
        chunks = decode_header(value)
    except Exception:  # a broken encoded word: keep the header as it stands
        return _unfold(value)
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
        else:
            out.append(decode_bytes(chunk, charset)[0])
    return _unfold("".join(out))


def _unfold(text: str) -> str:
    return re.sub(r"\r?\n[ \t]+", " ", text).replace("\r", "").replace("\n", " ").strip()


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = b""
    text, _ = decode_bytes(payload, part.get_content_charset())
    if part.get_content_type() == "text/html":
        return html_to_text(text)
    return text.replace("\r\n", "\n")


def _filename(part: Message) -> str | None:
    name = part.get_param("filename", header="content-disposition")
    if name is None:
        name = part.get_param("name", header="content-type")
    if name is None:
        return None
    if isinstance(name, tuple):  # RFC 2231: (charset, language, value)
        charset, _, value = name
        data = value.encode("latin-1", "surrogateescape") if isinstance(value, str) else value
        return decode_bytes(data, charset or "utf-8")[0]
    return decode_header_value(name)


def _is_attachment(part: Message) -> bool:
    disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    if disposition == "attachment":
        return True
    if part.get_content_maintype() == "text" and part.get_content_type() in (
        "text/plain",
        "text/html",
    ):
        return disposition == "attachment" or (
            _filename(part) is not None and disposition != "inline"
        )
    return True


def _walk(msg: Message, texts: list[str], attachments: list[Attachment]) -> None:
    """Collect the readable text and the attachment records of a message tree."""
    ctype = msg.get_content_type()
    if msg.is_multipart():
        parts = msg.get_payload()
        if ctype == "multipart/alternative":
            chosen = _choose_alternative(parts)
            if chosen is not None:
                _walk(chosen, texts, attachments)
            return
        if ctype == "multipart/report":
            # A bounce: its human-readable first part is the text; the machine-readable
            # status parts are not attachments anyone sent us.
            if parts:
                _walk(parts[0], texts, attachments)
            return
        for part in parts:
            _walk(part, texts, attachments)
        return
    if ctype == "message/rfc822" or _is_attachment(msg):
        attachments.append(_attachment(msg))
        return
    texts.append(_part_text(msg))


def _choose_alternative(parts: list[Message]) -> Message | None:
    for wanted in ("text/plain", "text/html"):
        for part in parts:
            if part.get_content_type() == wanted and part.get_payload(decode=True):
                return part
    for part in parts:
        if part.is_multipart():
            return part
    return parts[0] if parts else None


def _attachment(part: Message) -> Attachment:
    if part.is_multipart():
        size = len(part.as_bytes())
    else:
        payload = part.get_payload(decode=True)
        size = len(payload) if payload is not None else 0
    name = _filename(part) or ""
    return Attachment(filename=name, content_type=part.get_content_type(), size=size)


def _msgids(value: str | None) -> tuple[str, ...]:
    return tuple(_MSGID.findall(value or ""))


def synthetic_message_id(raw: bytes) -> str:
    """A stable id for mail that has none, so a redelivery still dedupes."""
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@synthetic.inquiry-desk>"


def parse_message(
    raw: bytes,
    *,
    envelope_from: str | None = None,
    received_at: datetime | None = None,
) -> Inquiry:
    msg = message_from_bytes(raw, policy=compat32)
    # raw_items keeps 8-bit header bytes as surrogate escapes; items() would hide them in
    # Header objects of unknown charset.
    raw_headers = list(msg.raw_items())
    headers = tuple((k.lower(), decode_header_value(v)) for k, v in raw_headers)

    def first(name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in raw_headers if k.lower() == name), None)

    from_value = decode_header_value(first("From"))
    addresses = getaddresses([from_value])
    sender_name, sender = addresses[0] if addresses else ("", "")
    sender = sender.strip().lower()

    texts: list[str] = []
    attachments: list[Attachment] = []
    _walk(msg, texts, attachments)
    body = "\n\n".join(t.strip("\n") for t in texts if t.strip()).strip()

    ids = _msgids(first("Message-ID"))
    message_id = ids[0] if ids else synthetic_message_id(raw)
    in_reply_to = _msgids(first("In-Reply-To"))
    sent_at = None
    if first("Date"):
        try:
            sent_at = parsedate_to_datetime(str(first("Date")))
        except (TypeError, ValueError):
            sent_at = None

    return Inquiry(
        channel="email",
        message_id=message_id,
        sender=sender,
        sender_name=sender_name.strip(),
        subject=decode_header_value(first("Subject")),
        body=body,
        text=strip_quoted(body),
        received_at=received_at or sent_at,
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=_msgids(first("References")),
        attachments=tuple(attachments),
        headers=headers,
        content_type=msg.get_content_type(),
        envelope_from=envelope_from,
        synthetic_message_id=not ids,
    )
