"""The managers' daily digest (pure): figures in; a subject, a plain-text part and an HTML part
with an inline SVG chart out. Every word comes from templates/digest/<language>/."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import jinja2
from markupsafe import Markup, escape

LANGUAGES = ("en", "ja")
# Blue and orange stay distinct for the common colour-vision deficiencies.
SERIES = {"opened": "#2f6db5", "answered": "#e08a1e"}


@dataclass(frozen=True)
class DigestTicket:
    number: str  # "INQ-2026-000123"
    category: str  # complaint | disclosure_request | consultation
    status: str  # open | answered | closed
    assignee: str | None  # staff display name
    due_at: datetime  # aware, in the digest's local tz
    age_hours: float  # business hours since received
    overdue_hours: float  # business hours past due; 0 when not overdue


@dataclass(frozen=True)
class ResponseTimes:
    days: int  # 7 or 30
    count: int  # tickets with a first human response in the window
    median_hours: float | None  # business hours; None when count == 0
    p90_hours: float | None


@dataclass(frozen=True)
class DayCount:
    day: date
    opened: int
    answered: int


@dataclass(frozen=True)
class DigestData:
    organization: str
    language: str  # "en" | "ja"
    generated_at: datetime  # aware, local
    weekly: bool  # the weekly summary day adds a week section
    counts: dict[str, dict[str, int]]  # category -> status (open/answered/closed/overdue) -> n
    overdue: tuple[DigestTicket, ...]
    due_today: tuple[DigestTicket, ...]
    response_times: tuple[ResponseTimes, ...]  # for 7 and 30 days
    within_target: dict[str, tuple[int, int]]  # category -> (within target, answered), 30 days
    days: tuple[DayCount, ...]  # last 14 business days, oldest first
    week: dict[str, int] | None = None  # weekly: {"opened": n, "answered": n, "breached": n}


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class ChartLabels:
    """The chart's words, taken from the language's _words.j2."""

    title: str
    opened: str
    answered: str
    axis_day: Callable[[date], str]  # short label under a pair of bars
    bar: Callable[[date, str, int], str]  # one bar's tooltip: day, series word, value


def bar_chart_svg(
    days: Sequence[DayCount],
    *,
    labels: ChartLabels,
    width: int = 320,
    height: int = 120,
) -> Markup:
    """Opened and answered per day as paired bars, scaled to the busiest day.

    The markup is self-contained (no scripts, fonts or links) and shrinks with its container.
    """
    legend_h, axis_h, side = 18, 14, 10
    plot_h = height - legend_h - axis_h
    base = legend_h + plot_h
    top = max((max(d.opened, d.answered) for d in days), default=0)
    # The side margins leave room for the outermost day labels, centred under their bars.
    slot = (width - 2 * side) / max(len(days), 1)
    bar = max((slot - 4) / 2, 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(labels.title)}" '
        f'style="display:block;width:100%;max-width:{width}px;height:auto;" '
        f'font-family="Arial, sans-serif">',
        f"<title>{escape(labels.title)}</title>",
        *_legend(labels, width, top, legend_h),
        f'<line x1="0" y1="{base}" x2="{width}" y2="{base}" stroke="#8c959f" stroke-width="1"/>',
    ]
    for i, d in enumerate(days):
        x = side + i * slot + 2
        for n, series in enumerate(SERIES):
            value = getattr(d, series)
            h = plot_h * value / top if top else 0.0
            tip = labels.bar(d.day, getattr(labels, series), value)
            parts.append(
                f'<rect class="{series}" data-value="{value}" x="{x + n * bar:.2f}" '
                f'y="{base - h:.2f}" width="{bar:.2f}" height="{h:.2f}" '
                f'fill="{SERIES[series]}"><title>{escape(tip)}</title></rect>'
            )
        # Every other day is labelled, counting back from the latest, which always is.
        if (len(days) - 1 - i) % 2 == 0:
            parts.append(
                f'<text x="{x + bar:.2f}" y="{height - 3}" font-size="9" fill="#57606a" '
                f'text-anchor="middle">{escape(labels.axis_day(d.day))}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _legend(labels: ChartLabels, width: int, top: int, legend_h: int) -> list[str]:
    parts = []
    for n, series in enumerate(SERIES):
        x = n * 100
        parts.append(f'<rect x="{x}" y="3" width="10" height="10" fill="{SERIES[series]}"/>')
        parts.append(
            f'<text x="{x + 14}" y="12" font-size="11" fill="#1f2328">'
            f"{escape(getattr(labels, series))}</text>"
        )
    if top:
        # The busiest day's count is the only scale a reader needs: bars are relative to it.
        parts.append(
            f'<line x1="0" y1="{legend_h}" x2="{width}" y2="{legend_h}" stroke="#d0d7de" '
            f'stroke-width="1" stroke-dasharray="3 3"/>'
        )
        parts.append(
            f'<text x="{width}" y="{legend_h - 4}" font-size="10" fill="#57606a" '
            f'text-anchor="end">{top}</text>'
        )
    return parts


def text_width(text: str) -> int:
    """Columns `text` takes in a terminal: East Asian wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def col(value: object, width: int, align: str = "<") -> str:
    """`value` padded to `width` columns, so Japanese plain-text tables line up too."""
    text = str(value)
    fill = " " * max(width - text_width(text), 0)
    return fill + text if align == ">" else text + fill


def render_digest(data: DigestData, env: jinja2.Environment) -> RenderedDigest:
    """Render the digest with the reply environment; the HTML templates turn autoescape on."""
    language = data.language if data.language in LANGUAGES else "en"
    folder = f"digest/{language}"
    words = env.get_template(f"{folder}/_words.j2").module
    labels = ChartLabels(
        title=words.CHART_TITLE,
        opened=words.SERIES["opened"],
        answered=words.SERIES["answered"],
        axis_day=words.axis_day,
        bar=words.bar_title,
    )
    context = {
        "d": data,
        "totals": _totals(data.counts),
        "chart": bar_chart_svg(data.days, labels=labels),
        "col": col,
    }
    subject = env.get_template(f"{folder}/subject.j2").render(context)
    text = env.get_template(f"{folder}/digest.txt.j2").render(context)
    html = env.get_template(f"{folder}/digest.html.j2").render(context)
    return RenderedDigest(subject=" ".join(subject.split()), text=_tidy(text), html=html)


def _totals(counts: dict[str, dict[str, int]]) -> dict[str, int]:
    statuses = ("open", "overdue", "answered", "closed")
    return {s: sum(row.get(s, 0) for row in counts.values()) for s in statuses}


def _tidy(text: str) -> str:
    # Padding leaves trailing blanks, and skipped sections leave runs of empty lines.
    lines = [line.rstrip() for line in text.strip("\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"
