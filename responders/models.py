"""The shapes that flow between channels, the pipeline and the responders.

Everything here is plain, immutable data: no I/O, no behaviour beyond small helpers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

CATEGORIES = ("complaint", "disclosure_request", "consultation")
REQUEST_TYPES = (
    "disclosure",
    "purpose_notification",
    "revision",
    "usage_withholding",
    "third_party_halt",
    "third_party_records",
)
# Types for which the policy allows the processing fee (APPI art. 38).
FEE_REQUEST_TYPES = frozenset({"disclosure", "purpose_notification", "third_party_records"})


@dataclass(frozen=True)
class Attachment:
    """What is kept of an attachment: never its content."""

    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class Inquiry:
    """One inbound message, whatever channel it came from."""

    channel: str  # "email" or "slack"
    message_id: str
    sender: str  # address (email) or user id (slack); lowercase for email
    sender_name: str
    subject: str
    body: str  # full decoded text, HTML converted to text
    text: str  # body with quoted earlier mail and signature stripped: what is sorted
    received_at: datetime | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    # Decoded headers as (lowercase name, value), in order; the loop guard reads them.
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "text/plain"
    envelope_from: str | None = None  # SMTP MAIL FROM; "" is the null sender <>
    synthetic_message_id: bool = False

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def header_names(self) -> set[str]:
        return {key for key, _ in self.headers}


@dataclass(frozen=True)
class Classification:
    category: str
    categories: tuple[str, ...]
    request_types: tuple[str, ...]
    deputy: bool
    language: str
    confidence: float
    needs_human: bool
    reasons: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {
            "category": self.category,
            "categories": list(self.categories),
            "request_types": list(self.request_types),
            "deputy": self.deputy,
            "language": self.language,
            "confidence": round(self.confidence, 3),
            "needs_human": self.needs_human,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class Organization:
    """The contact block every reply ends with; comes from config, per language."""

    name: str
    address: str
    phone: str
    fax: str
    email: str
    hours: str
    fee_jpy: int


@dataclass(frozen=True)
class Reply:
    """A composed reply: words only. The bot turns it into a MIME message."""

    language: str
    subject: str
    body: str
    kind: str  # "full", "followup" or "acknowledgement"
    warnings: tuple[str, ...] = field(default=())
