"""Turns a composed `Reply` into the bytes of an RFC 5322 message that threads and that
no well-behaved responder answers (RFC 3834)."""

from __future__ import annotations

import re
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from responders.models import Reply

_MAX_REFERENCES = 10
_LINE_BREAKS = re.compile(r"[\r\n\x00]+")


def new_message_id(from_address: str) -> str:
    return make_msgid(idstring="inquiry-desk", domain=from_address.rsplit("@", 1)[-1])


def _safe(text: str) -> str:
    return _LINE_BREAKS.sub(" ", text).strip()


def build_reply(
    reply: Reply,
    *,
    to_address: str,
    to_name: str,
    from_address: str,
    from_name: str,
    message_id: str,
    in_reply_to: str | None,
    references: tuple[str, ...],
    loop_header: str,
    loop_value: str,
    now: datetime,
    auto: bool = True,
) -> bytes:
    """auto=False for a reply a person wrote: it must not look machine-made to filters,
    yet it still carries our loop header so it is never answered by us."""
    msg = EmailMessage(policy=policy.SMTP)
    local, _, domain = from_address.partition("@")
    msg["From"] = Address(display_name=_safe(from_name), username=local, domain=domain)
    to_local, _, to_domain = to_address.partition("@")
    msg["To"] = Address(display_name=_safe(to_name), username=to_local, domain=to_domain)
    msg["Subject"] = _safe(reply.subject)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        chain = [r for r in references if r != in_reply_to] + [in_reply_to]
        msg["References"] = " ".join(chain[-_MAX_REFERENCES:])
    if auto:
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
        msg["Precedence"] = "auto_reply"
    msg[loop_header] = loop_value
    cte = "quoted-printable" if reply.language == "en" else "base64"
    msg.set_content(reply.body, charset="utf-8", cte=cte)
    msg["Content-Language"] = reply.language  # after set_content, which clears Content-*
    return msg.as_bytes()


def build_report(
    *,
    subject: str,
    text: str,
    html: str,
    language: str,
    to_address: str,
    from_address: str,
    from_name: str,
    message_id: str,
    loop_header: str,
    loop_value: str,
    now: datetime,
) -> bytes:
    """A generated report (the managers' digest): text and HTML alternatives."""
    msg = EmailMessage(policy=policy.SMTP)
    local, _, domain = from_address.partition("@")
    msg["From"] = Address(display_name=_safe(from_name), username=local, domain=domain)
    msg["To"] = to_address
    msg["Subject"] = _safe(subject)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["Precedence"] = "bulk"
    msg[loop_header] = loop_value
    msg.set_content(text, charset="utf-8", cte="base64" if language == "ja" else "quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    msg["Content-Language"] = language
    return msg.as_bytes()
