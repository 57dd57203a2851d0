"""Whether a message may get an automatic reply (RFC 3834), decided from the message
alone plus the sender's reply count: pure, so every rule is testable in isolation.

Mail that fails the guard is still stored and shown to staff; it only gets no reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from responders.models import Inquiry

_ROBOT_LOCALPART = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|donotreply|bounces?|"
    r"auto-?reply|autoresponder|listserv|majordomo|.*-bounces?|.*\+bounces?.*)$",
    re.I,
)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


def can_acknowledge(
    msg: Inquiry,
    *,
    own_addresses: frozenset[str],
    loop_header: str,
    loop_value: str,
    replies_today: int = 0,
    max_replies_per_day: int = 5,
) -> Verdict:
    """Say whether `msg` may be answered automatically, and if not, why."""
    auto_submitted = (msg.header("auto-submitted") or "").strip().lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return Verdict(False, f"Auto-Submitted: {auto_submitted}")
    precedence = (msg.header("precedence") or "").strip().lower()
    if precedence in ("bulk", "list", "junk"):
        return Verdict(False, f"Precedence: {precedence}")
    names = msg.header_names()
    list_headers = sorted(n for n in names if n.startswith("list-"))
    if list_headers:
        return Verdict(False, f"mailing-list header {list_headers[0]}")
    if "x-auto-response-suppress" in names:
        return Verdict(False, "X-Auto-Response-Suppress present")
    for name, value in msg.headers:
        if name == loop_header.lower() and value.strip().lower() == loop_value.lower():
            return Verdict(False, f"{loop_header} of our own")
    if msg.content_type == "multipart/report":
        return Verdict(False, "delivery status notification (multipart/report)")
    return_path = msg.header("return-path")
    if msg.envelope_from == "" or (return_path is not None and return_path.strip() == "<>"):
        return Verdict(False, "empty return path")
    if not msg.sender or (msg.header("from") or "").strip() == "<>":
        return Verdict(False, "no sender address")
    local = msg.sender.split("@", 1)[0]
    if _ROBOT_LOCALPART.match(local):
        return Verdict(False, f"automated sender {local}@")
    if msg.sender in own_addresses:
        return Verdict(False, "sent from our own address")
    if replies_today >= max_replies_per_day:
        return Verdict(False, f"{replies_today} auto-replies to this sender in the last day")
    return Verdict(True)
