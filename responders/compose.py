"""Chooses and renders the words of a reply (pure): which template, which forms, which
policy topics, what happens next. Rendering uses the Jinja environment it is given."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from datetime import datetime

import jinja2

from responders.models import (
    FEE_REQUEST_TYPES,
    REQUEST_TYPES,
    Classification,
    Inquiry,
    Reply,
)
from responders.slack import add_filters as add_slack_filters
from responders.text import normalize


@dataclass(frozen=True)
class Topic:
    id: str
    keywords: dict[str, tuple[str, ...]]  # language -> normalized keywords


@dataclass(frozen=True)
class ReplyKit:
    """What compose needs besides the message: built once by the bot from config."""

    env: jinja2.Environment
    forms_by_type: dict[str, tuple[str, ...]]
    deputy_forms: tuple[str, ...]
    topics: tuple[Topic, ...]
    max_topics: int = 3


def build_topics(entries: list[dict]) -> tuple[Topic, ...]:
    topics = []
    for entry in entries:
        keywords = {
            lang: tuple(normalize(k) for k in entry.get(f"keywords_{lang}", []))
            for lang in ("en", "ja")
        }
        topics.append(Topic(id=entry["id"], keywords=keywords))
    return tuple(topics)


def pick_topics(text: str, language: str, topics: tuple[Topic, ...], limit: int) -> list[str]:
    """The policy topics a consultation asks about, most keyword hits first."""
    norm = normalize(text)
    scored = []
    for index, topic in enumerate(topics):
        hits = sum(
            1
            for k in topic.keywords.get(language, ())
            + topic.keywords.get("en" if language == "ja" else "ja", ())
            if k and k in norm
        )
        if hits:
            scored.append((-hits, index, topic.id))
    return [topic_id for _, _, topic_id in sorted(scored)[:limit]]


def forms_for(cls: Classification, kit: ReplyKit) -> list[str]:
    forms: list[str] = []
    for request_type in cls.request_types:
        forms.extend(kit.forms_by_type.get(request_type, ()))
    if cls.deputy and cls.request_types:
        forms.extend(kit.deputy_forms)
    return list(dict.fromkeys(forms))


_SUBJECT_TAG = re.compile(r"\[INQ-\d{4}-\d{6}\]")
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|sv|答复|回复|返信)\s*[:：]\s*)+", re.I)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_MAX_SUBJECT = 150


def reply_subject(original: str, ticket_number: str, fallback: str) -> str:
    """'Re: <original> [INQ-…]', with no way for the original to add header lines."""
    subject = _CONTROL.sub(" ", original)
    subject = _SUBJECT_TAG.sub("", subject)
    subject = _REPLY_PREFIX.sub("", subject)
    subject = re.sub(r"\s{2,}", " ", subject).strip()
    if len(subject) > _MAX_SUBJECT:
        subject = subject[: _MAX_SUBJECT - 1].rstrip() + "…"
    return f"Re: {subject or fallback} [{ticket_number}]"


def compose(
    inquiry: Inquiry,
    cls: Classification,
    kit: ReplyKit,
    *,
    ticket_number: str,
    due: datetime,
    organization: dict,
    kind: str = "full",
    my_number_found: bool = False,
    medium: str = "email",
) -> Reply:
    """Render the reply for `inquiry`.

    kind: "full" (first message of a ticket) or "followup" (a message added to a ticket).
    medium: "email" (a letter) or "chat" (the same content, shortened for a Slack thread).
    A low-confidence classification gets the neutral acknowledgement instead of a
    category reply, so nobody receives a confident wrong answer.
    """
    language = cls.language if cls.language in ("en", "ja") else "en"
    if kind == "full" and cls.needs_human:
        kind = "acknowledgement"
    template = {
        "full": f"{cls.category}.txt.j2",
        "followup": "followup.txt.j2",
        "acknowledgement": "acknowledgement.txt.j2",
    }[kind]
    topics = []
    if kind == "full" and "consultation" in cls.categories:
        topics = pick_topics(
            f"{inquiry.subject}\n{inquiry.text}", language, kit.topics, kit.max_topics
        )
    context = {
        "ticket_number": ticket_number,
        "category": cls.category,
        "categories": list(cls.categories),
        "request_types": [t for t in REQUEST_TYPES if t in cls.request_types],
        "fee_types": [
            t for t in REQUEST_TYPES if t in cls.request_types and t in FEE_REQUEST_TYPES
        ],
        "deputy": cls.deputy,
        "forms": forms_for(cls, kit),
        "topics": topics,
        "due": due,
        "org": organization,
        "sender_name": inquiry.sender_name,
        "subject": inquiry.subject,
        "my_number": my_number_found,
        "attachments": list(inquiry.attachments),
    }
    env = kit.env
    body = env.get_template(f"{medium}/{language}/{template}").render(context)
    body = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
    if language == "en" and medium == "email":
        body = wrap_paragraphs(body)
    fallback = env.get_template(f"email/{language}/subject_fallback.txt.j2").render().strip()
    warnings = ("my_number",) if my_number_found else ()
    return Reply(
        language=language,
        subject=reply_subject(inquiry.subject, ticket_number, fallback),
        body=body,
        kind=kind,
        warnings=warnings,
    )


_WIDTH = 76
_HANGING = re.compile(r"^(\s*)((?:[-*]|[A-Z0-9]{1,2}\.)\s+)?")


def wrap_paragraphs(text: str, width: int = _WIDTH) -> str:
    """Wrap long lines of plain-text mail, keeping list items' hanging indent."""
    out = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        m = _HANGING.match(line)
        indent, marker = m.group(1), m.group(2) or ""
        out.append(
            textwrap.fill(
                line.strip(),
                width=width,
                initial_indent=indent,
                subsequent_indent=indent + " " * len(marker),
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(out)


def make_environment(templates_dir: str) -> jinja2.Environment:
    """The Jinja environment for plain-text mail: no autoescape, strict undefineds."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["yen"] = lambda n: f"{int(n):,}"
    add_slack_filters(env)
    # Replies promise a day, not a minute: "by Friday 26 December 2026".
    env.filters["due_en"] = lambda d: d.strftime("%A %-d %B %Y")
    env.filters["due_ja"] = lambda d: (
        f"{d.year}年{d.month}月{d.day}日（{'月火水木金土日'[d.weekday()]}）"
    )
    return env
