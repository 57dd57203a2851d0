"""The words and blocks of inquiry-desk's Slack messages (pure): triage posts, thread
lines and the reply modal, rendered from templates/slack in the staff's language."""

from __future__ import annotations

import json
from datetime import datetime

import jinja2

# Slack refuses a plain_text_input whose initial value is longer than its max_length.
MODAL_TEXT_LIMIT = 3000


def mrkdwn_escape(text: str) -> str:
    """Slack's three control characters, escaped so user text cannot mention or link."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_time(value: datetime | str) -> str:
    """A date Slack shows in each reader's own time zone, with an ISO fallback."""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    fallback = when.strftime("%Y-%m-%d %H:%M %Z").strip()
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def who(actor: str) -> str:
    """A Slack user id becomes a mention; anything else (a staff address) stays text."""
    if actor and actor[0] in "UW" and actor.isalnum() and actor.isupper():
        return f"<@{actor}>"
    return mrkdwn_escape(actor)


def add_filters(env: jinja2.Environment) -> None:
    env.filters["mrkdwn"] = mrkdwn_escape
    env.filters["slack_time"] = slack_time
    env.filters["who"] = who


def triage_message(env: jinja2.Environment, language: str, view: dict) -> tuple[str, list]:
    """(notification text, blocks) of a ticket's triage post."""
    text = env.get_template(f"slack/{language}/triage_text.txt.j2").render(t=view).strip()
    blocks = json.loads(env.get_template(f"slack/{language}/triage.json.j2").render(t=view))
    return text, blocks


def thread_line(env: jinja2.Environment, language: str, template: str, context: dict) -> str:
    return env.get_template(f"slack/{language}/lines/{template}.txt.j2").render(context).strip()


def staff_text(env: jinja2.Environment, language: str, name: str, **context) -> str:
    return env.get_template(f"slack/{language}/{name}.txt.j2").render(context).strip()


def reply_modal(
    env: jinja2.Environment,
    language: str,
    *,
    ticket_id: int,
    number: str,
    channel: str,
    draft: str,
) -> dict:
    if len(draft) > MODAL_TEXT_LIMIT:
        # Keep whole paragraphs: a draft cut mid-sentence would be sent as it stands.
        cut = draft[:MODAL_TEXT_LIMIT].rfind("\n\n")
        draft = draft[: cut if cut > 0 else MODAL_TEXT_LIMIT].rstrip()
    rendered = env.get_template(f"slack/{language}/reply_modal.json.j2").render(
        ticket_id=ticket_id, number=number, channel=channel, draft=draft
    )
    return json.loads(rendered)


def chat_notice(env: jinja2.Environment, language: str, template: str, **context) -> str:
    """A message to a requester in Slack that is not a reply to their question."""
    return env.get_template(f"chat/{language}/{template}.txt.j2").render(context).strip()
