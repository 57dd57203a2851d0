"""The managers' digest: its figures in both languages, no personal data, escaping, the SVG
chart, and an HTML layout that fits a 360 px phone screen (headless Chromium)."""

from __future__ import annotations

import html as htmllib
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from responders.compose import make_environment
from responders.digest import (
    ChartLabels,
    DayCount,
    DigestData,
    DigestTicket,
    ResponseTimes,
    bar_chart_svg,
    render_digest,
)

ROOT = Path(__file__).resolve().parents[2]
ENV = make_environment(str(ROOT / "templates"))
JST = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=JST)  # a Tuesday, after a Monday holiday
SVG = "{http://www.w3.org/2000/svg}"


def ticket(number, category, due, age, late=0.0, assignee=None) -> DigestTicket:
    return DigestTicket(
        number=number,
        category=category,
        status="open",
        assignee=assignee,
        due_at=due,
        age_hours=age,
        overdue_hours=late,
    )


OVERDUE = (
    ticket(
        "INQ-2026-000101", "disclosure_request", datetime(2026, 11, 19, 17, tzinfo=JST), 40.46, 6.5
    ),
    ticket(
        "INQ-2026-000102",
        "complaint",
        datetime(2026, 11, 20, 12, tzinfo=JST),
        20.0,
        3.04,
        "Sato Hanako",
    ),
)
DUE_TODAY = (
    ticket(
        "INQ-2026-000110",
        "consultation",
        datetime(2026, 11, 24, 17, tzinfo=JST),
        12.0,
        assignee="Suzuki Ichiro",
    ),
)
# The 14 business days before Tue 24 Nov 2026: weekends, 3 Nov and 23 Nov are closed.
BUSINESS_DAYS = [2, 4, 5, 6, 9, 10, 11, 12, 13, 16, 17, 18, 19, 20]
OPENED = [2, 0, 5, 1, 3, 0, 4, 2, 1, 6, 0, 2, 3, 1]
ANSWERED = [1, 2, 3, 0, 4, 1, 2, 2, 0, 5, 1, 1, 2, 0]
DAYS = tuple(
    DayCount(day=date(2026, 11, d), opened=o, answered=a)
    for d, o, a in zip(BUSINESS_DAYS, OPENED, ANSWERED, strict=True)
)


def digest(language: str = "en", **changes) -> DigestData:
    data = DigestData(
        organization="Example Co., Ltd.",
        language=language,
        generated_at=NOW,
        weekly=False,
        counts={
            "complaint": {"open": 3, "overdue": 1, "answered": 12, "closed": 4},
            "disclosure_request": {"open": 2, "overdue": 1, "answered": 5, "closed": 1},
            "consultation": {"open": 4, "overdue": 0, "answered": 20, "closed": 9},
        },
        overdue=OVERDUE,
        due_today=DUE_TODAY,
        response_times=(
            ResponseTimes(days=7, count=0, median_hours=None, p90_hours=None),
            ResponseTimes(days=30, count=9, median_hours=3.46, p90_hours=11.94),
        ),
        within_target={"complaint": (3, 4), "disclosure_request": (2, 2), "consultation": (0, 0)},
        days=DAYS,
    )
    return replace(data, **changes)


def flat(text: str) -> str:
    """Whitespace-insensitive text: padded columns and HTML cells compare the same way."""
    return " ".join(text.split())


def visible(html: str) -> str:
    """The words a reader sees in the HTML part, chart excluded."""
    html = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    html = re.sub(r"<head>.*?</head>", " ", html, flags=re.S)
    return flat(htmllib.unescape(re.sub(r"<[^>]+>", " ", html)))


SUBJECT = {
    "en": "Daily digest, Tue 24 Nov: 2 overdue, 1 due today, 9 open",
    "ja": "【日次ダイジェスト】11月24日（火） 期限超過2件・本日期限1件・未回答9件",
}
# Patterns over flat() text that both parts must show.
BOTH = {
    "en": [
        r"Complaints 3 1 12 4",
        r"Disclosure requests 2 1 5 1",
        r"Consultations 4 0 20 9",
        r"Total 9 2 37 14",
        r"Complaints 75% \(3 of 4\)",
        r"Disclosure requests 100% \(2 of 2\)",
        r"Consultations n/a \(none answered\)",
        r"Last 7 days n/a n/a 0",
        r"Last 30 days 3\.5( h)? 11\.9( h)? 9",
        r"Mon 2 Nov 2 1",
        r"Fri 20 Nov 1 0",
    ],
    "ja": [
        r"苦情 3 1 12 4",
        r"開示等の請求 2 1 5 1",
        r"一般相談 4 0 20 9",
        r"合計 9 2 37 14",
        r"苦情 75% ?（4件中3件）",
        r"開示等の請求 100% ?（2件中2件）",
        r"一般相談 － ?（回答なし）",
        r"直近7日 － － 0",
        r"直近30日 3\.5(時間)? 11\.9(時間)? 9",
        r"11月2日（月） 2 1",
        r"11月20日（金） 1 0",
    ],
}
TICKET_LINES = {
    ("en", "text"): [
        r"INQ-2026-000101 Disclosure request Thu 19 Nov 17:00 40\.5 6\.5 Unassigned",
        r"INQ-2026-000102 Complaint Fri 20 Nov 12:00 20\.0 3\.0 Assigned to Sato Hanako",
        r"INQ-2026-000110 Consultation Tue 24 Nov 17:00 12\.0 Assigned to Suzuki Ichiro",
    ],
    ("en", "html"): [
        r"INQ-2026-000101 Disclosure request · Unassigned "
        r"Due Thu 19 Nov 17:00 · age 40\.5 h · 6\.5 h late",
        r"INQ-2026-000102 Complaint · Assigned to Sato Hanako "
        r"Due Fri 20 Nov 12:00 · age 20\.0 h · 3\.0 h late",
        r"INQ-2026-000110 Consultation · Assigned to Suzuki Ichiro "
        r"Due Tue 24 Nov 17:00 · age 12\.0 h",
    ],
    ("ja", "text"): [
        r"INQ-2026-000101 開示等の請求 11月19日（木）17:00 40\.5 6\.5 未割当",
        r"INQ-2026-000102 苦情 11月20日（金）12:00 20\.0 3\.0 担当：Sato Hanako",
        r"INQ-2026-000110 一般相談 11月24日（火）17:00 12\.0 担当：Suzuki Ichiro",
    ],
    ("ja", "html"): [
        r"INQ-2026-000101 開示等の請求・未割当 "
        r"期限 11月19日（木）17:00・経過 40\.5時間・ 超過 6\.5時間",
        r"INQ-2026-000102 苦情・担当：Sato Hanako "
        r"期限 11月20日（金）12:00・経過 20\.0時間・ 超過 3\.0時間",
        r"INQ-2026-000110 一般相談・担当：Suzuki Ichiro 期限 11月24日（火）17:00・経過 12\.0時間",
    ],
}


@pytest.mark.parametrize("language", ["en", "ja"])
def test_subject_and_both_parts_carry_the_figures(language):
    out = render_digest(digest(language), ENV)
    assert out.subject == SUBJECT[language]
    parts = {"text": flat(out.text), "html": visible(out.html)}
    for part, text in parts.items():
        for pattern in BOTH[language] + TICKET_LINES[language, part]:
            assert re.search(pattern, text), f"{language} {part}: {pattern!r} not in {text}"


@pytest.mark.parametrize(
    ("language", "heading", "figures"),
    [
        ("en", "the past week", r"Opened 17(,| ·) answered 15(,| ·) deadlines missed 2"),
        ("ja", "週次サマリー（直近7日間）", r"受付 17 ?件[・ ]回答 15 ?件[・ ]期限超過 2 ?件"),
    ],
)
def test_the_week_section_only_on_the_weekly_day(language, heading, figures):
    week = {"opened": 17, "answered": 15, "breached": 2}
    weekly = render_digest(digest(language, weekly=True, week=week), ENV)
    daily = render_digest(digest(language), ENV)
    for part in (flat(weekly.text), visible(weekly.html)):
        assert heading in part.lower()
        assert re.search(figures, part), part
    for part in (flat(daily.text), visible(daily.html)):
        assert heading not in part.lower()
        assert not re.search(figures, part)
    assert weekly.subject.startswith("Weekly" if language == "en" else "【週次サマリー")
    assert not daily.subject.startswith("Weekly" if language == "en" else "【週次サマリー")


@pytest.mark.parametrize("language", ["en", "ja"])
def test_no_requester_data_and_no_mail_addresses(language):
    out = render_digest(digest(language), ENV)
    assert "@" not in out.subject
    assert all("@" not in line for line in out.text.splitlines())
    assert "@" not in visible(out.html)
    assert "\n" not in out.subject


@pytest.mark.parametrize("language", ["en", "ja"])
def test_empty_lists_say_so(language):
    out = render_digest(digest(language, overdue=(), due_today=()), ENV)
    nothing = {
        "en": ("Nothing is overdue.", "Nothing else falls due today."),
        "ja": ("期限を過ぎたチケットはありません。", "本日が期限のチケットはほかにありません。"),
    }[language]
    for line in nothing:
        assert line in out.text and line in out.html


@pytest.mark.parametrize("language", ["en", "ja"])
def test_html_escapes_everything_and_loads_nothing(language):
    hostile = '<script>alert("x")</script> & Co'
    intruder = ticket(
        "INQ-2026-<b>1</b>",
        "complaint",
        NOW,
        1.0,
        assignee='<img src=x onerror="alert(1)">',
    )
    out = render_digest(digest(language, organization=hostile, due_today=(intruder,)), ENV)
    assert "<script" not in out.html and "<img" not in out.html and "<b>" not in out.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in out.html
    assert "&lt;img src=x onerror=" in out.html
    assert hostile in out.text  # the plain-text part shows it as it is
    assert set(re.findall(r"https?://[^\"'\s]+", out.html)) == {"http://www.w3.org/2000/svg"}
    assert not re.search(r"<[^>]*\s(src|href)=", out.html)


def test_english_text_fits_76_columns():
    long_name = "Alexandra Konstantinopoulou-Watanabe of the Data Protection Office, Osaka"
    tickets = (*OVERDUE, replace(OVERDUE[0], assignee=long_name, age_hours=1234.5))
    week = dict.fromkeys(("opened", "answered", "breached"), 123)
    out = render_digest(digest("en", overdue=tickets, weekly=True, week=week), ENV)
    assert max(len(line) for line in out.text.splitlines()) <= 76
    assert "Alexandra Konstantinopoulou-Watanabe" in out.text


def test_unknown_language_falls_back_to_english():
    assert render_digest(digest("fr"), ENV).subject == SUBJECT["en"]


def chart_rects(svg: str) -> dict[str, list[ET.Element]]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    rects = root.iter(f"{SVG}rect")
    series: dict[str, list[ET.Element]] = {"opened": [], "answered": []}
    for rect in rects:
        if rect.get("class") in series:
            series[rect.get("class")].append(rect)
    return series


def assert_proportional(rects: list[ET.Element], values: list[int], scale: float) -> None:
    for rect, value in zip(rects, values, strict=True):
        assert float(rect.get("height")) == pytest.approx(value * scale, abs=0.01)
        assert rect.get("data-value") == str(value)
        assert str(value) in rect.findtext(f"{SVG}title")  # the figure, for hover and readers


@pytest.mark.parametrize("language", ["en", "ja"])
def test_chart_is_valid_svg_with_a_bar_per_day_per_series(language):
    out = render_digest(digest(language), ENV)
    svg = re.search(r"<svg.*?</svg>", out.html, flags=re.S).group(0)
    series = chart_rects(svg)
    assert len(series["opened"]) == len(series["answered"]) == 14
    tallest = max(float(r.get("height")) for r in series["opened"] + series["answered"])
    scale = tallest / max(OPENED + ANSWERED)
    assert scale > 0
    assert_proportional(series["opened"], OPENED, scale)
    assert_proportional(series["answered"], ANSWERED, scale)
    # Bars stand on one baseline.
    bottoms = {
        round(float(r.get("y")) + float(r.get("height")), 2)
        for r in series["opened"] + series["answered"]
    }
    assert len(bottoms) == 1


LABELS = ChartLabels(
    title="Chart <&>",
    opened="Opened",
    answered="Answered",
    axis_day=lambda d: f"{d.month}/{d.day}",
    bar=lambda d, series, value: f"{d}: {series} {value}",
)


def test_an_all_zero_chart_draws_flat_bars():
    days = [DayCount(day=date(2026, 11, d), opened=0, answered=0) for d in BUSINESS_DAYS]
    series = chart_rects(bar_chart_svg(days, labels=LABELS))
    assert len(series["opened"]) == len(series["answered"]) == 14
    assert {float(r.get("height")) for r in series["opened"] + series["answered"]} == {0.0}
    assert chart_rects(bar_chart_svg([], labels=LABELS)) == {"opened": [], "answered": []}


def test_chart_escapes_its_labels_and_keeps_to_its_box():
    svg = bar_chart_svg(DAYS, labels=LABELS, width=400, height=150)
    root = ET.fromstring(svg)
    assert root.findtext(f"{SVG}title") == "Chart <&>"
    assert root.get("viewBox") == "0 0 400 150"
    for rect in root.iter(f"{SVG}rect"):
        x, w = float(rect.get("x")), float(rect.get("width"))
        y, h = float(rect.get("y")), float(rect.get("height"))
        assert x >= 0 and x + w <= 400
        assert y >= 0 and y + h <= 150


# Headless Chromium will not make its window narrower than 500 px, so the digest is measured
# inside a 360 px iframe: that frame is the phone's viewport. The probe reports back by
# postMessage because file:// frames may not touch each other's documents.
PROBE = (
    "<script>parent.postMessage(document.documentElement.scrollWidth + 'x' + "
    "window.innerWidth + 'x' + document.documentElement.clientWidth, '*')</script>"
)
HARNESS = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>pending</title></head>
<body style="margin:0">
<script>addEventListener("message", function (e) { document.title = e.data; });</script>
<iframe src="digest.html" style="width:360px;height:800px;border:0;display:block"></iframe>
</body></html>
"""


def chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        pytest.skip("chromium is not installed (apt-get install chromium); no layout check")
    return found


def measure(html: str, tmp_path: Path) -> tuple[int, int, int]:
    """(scrollWidth, innerWidth, clientWidth) of `html` shown at a 360 px phone width."""
    (tmp_path / "digest.html").write_text(
        html.replace("</body>", PROBE + "</body>"), encoding="utf-8"
    )
    (tmp_path / "harness.html").write_text(HARNESS, encoding="utf-8")
    result = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=360,800",
            "--virtual-time-budget=2000",
            "--dump-dom",
            (tmp_path / "harness.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = re.search(r"<title>(\d+)x(\d+)x(\d+)</title>", result.stdout)
    assert found, f"no measurement from chromium:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return int(found[1]), int(found[2]), int(found[3])


@pytest.mark.parametrize("language", ["en", "ja"])
def test_html_fits_a_phone_without_horizontal_scrolling(language, tmp_path):
    chromium()
    long_number = ticket(
        "INQ-2026-000123456789012345678901234567890",
        "disclosure_request",
        NOW,
        1234.5,
        assignee="Wolfeschlegelsteinhausenbergerdorff-Yamanouchi",
    )
    data = digest(
        language,
        organization="Example Holdings Personal Information Inquiry Center (Tokyo Head Office)",
        due_today=(*DUE_TODAY, long_number),
        weekly=True,
        week={"opened": 1234, "answered": 1200, "breached": 34},
    )
    scroll, inner, client = measure(render_digest(data, ENV).html, tmp_path)
    print(f"{language}: scrollWidth={scroll} innerWidth={inner} clientWidth={client}")
    assert inner == 360, "the probe frame is not phone-sized; the measurement means nothing"
    assert scroll <= client <= inner
