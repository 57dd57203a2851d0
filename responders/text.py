"""Pure text helpers shared by parsing and sorting: what a writer actually wrote, and in
which language.

`strip_quoted` drops quoted earlier mail and signatures so that only the new text is
sorted; `detect_language` says whether a text is mostly Japanese.
"""

from __future__ import annotations

import re
import unicodedata

# A line that introduces quoted earlier mail; everything from it on is history.
_QUOTE_INTRO = [
    re.compile(r"^\s*On\b.{4,200}\bwrote:\s*$", re.I),
    re.compile(
        r"^\s*-{2,}\s*(original message|forwarded message|元のメッセージ|転送メッセージ|"
        r"以下、?元のメッセージ)\s*-{2,}\s*$",
        re.I,
    ),
    re.compile(r"^\s*_{10,}\s*$"),
    re.compile(r"^\s*\d{4}年\d{1,2}月\d{1,2}日.{0,30}\d{1,2}:\d{2}.{0,200}[:：]\s*$"),
    re.compile(
        r"^\s*\d{4}[/-]\d{1,2}[/-]\d{1,2}.{0,30}\d{1,2}:\d{2}.{0,200}"
        r"(wrote|書きました|のメッセージ)[:：]?\s*$",
        re.I,
    ),
    re.compile(r"^\s*.{1,200}(さんは書きました|wrote)\s*[:：]\s*$", re.I),
]
# Outlook's header block: a From line followed closely by a Sent/Date line.
_OUTLOOK_FROM = re.compile(r"^\s*\*?(from|差出人|送信者)\*?\s*[:：]", re.I)
_OUTLOOK_NEXT = re.compile(
    r"^\s*\*?(sent|date|送信日時|日付|日時|to|宛先|subject|件名)\*?\s*[:：]", re.I
)
_QUOTED_LINE = re.compile(r"^\s*(>|＞)")
_SIG_DELIMITER = re.compile(r"^-- ?$")
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(sent from my \w+.*|sent from (outlook|mail) for .*|get outlook for .*|"
    r"iphoneから送信|ipadから送信|androidから送信|.{0,20}のスマートフォンから送信)\s*$",
    re.I,
)
# A rule line that frames a signature block: five or more of the same rule character.
_SIG_RULE = re.compile(r"^\s*([━─—=＝\-_＿*＊~〜◆◇■□☆★※#+])\1{4,}\s*$")
_CONTACT_HINT = re.compile(
    r"(@|tel|phone|fax|mobile|〒|電話|携帯|https?://|株式会社|co\.,? ?ltd|inc\.)", re.I
)
_SIGNATURE_WINDOW = 15


def strip_quoted(body: str) -> str:
    """Return the writer's own new text: no quoted mail, no signature."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = _cut_at_history(lines)
    lines = [line for line in lines if not _QUOTED_LINE.match(line)]
    lines = _cut_signature(lines)
    lines = [line for line in lines if not _MOBILE_SIGNATURE.match(line)]
    return "\n".join(lines).strip()


def _cut_at_history(lines: list[str]) -> list[str]:
    for i, line in enumerate(lines):
        if any(p.match(line) for p in _QUOTE_INTRO):
            return lines[:i]
        # "On Mon, 16 Nov 2026 at 10:02, Someone <x@example.com>" wrapped before "wrote:"
        if (
            i + 1 < len(lines)
            and re.match(r"^\s*On\b", line, re.I)
            and re.match(r"^\s*.{0,80}wrote:\s*$", lines[i + 1], re.I)
        ):
            return lines[:i]
        if _OUTLOOK_FROM.match(line):
            following = [x for x in lines[i + 1 : i + 5] if x.strip()]
            if sum(1 for x in following if _OUTLOOK_NEXT.match(x)) >= 2:
                return lines[:i]
    return lines


def _cut_signature(lines: list[str]) -> list[str]:
    for i, line in enumerate(lines):
        if _SIG_DELIMITER.match(line):
            return lines[:i]
    start = max(0, len(lines) - _SIGNATURE_WINDOW)
    for i in range(start, len(lines)):
        if _SIG_RULE.match(lines[i]):
            block = "\n".join(lines[i + 1 :])
            if _CONTACT_HINT.search(block) and len(block) < 600:
                return lines[:i]
    return lines


# Kana, CJK ideographs and half-width katakana; Latin letters, full-width ones included.
_JAPANESE_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
_LATIN_CHAR = re.compile(r"[A-Za-z\uff21-\uff3a\uff41-\uff5a]")
_NOISE = re.compile(r"(https?://\S+|[\w.+-]+@[\w-]+(\.[\w-]+)+)")
# One kana or kanji carries roughly as much text as a short English word's letters; a
# message is "mostly Japanese" once its Japanese characters pass this share of letters.
_JAPANESE_SHARE = 0.3


def detect_language(*texts: str) -> str:
    """'ja' when the text is mostly Japanese, otherwise 'en'."""
    text = _NOISE.sub(" ", " ".join(texts))
    japanese = len(_JAPANESE_CHAR.findall(text))
    if japanese == 0:
        return "en"
    latin = len(_LATIN_CHAR.findall(text))
    return "ja" if japanese / (japanese + latin) >= _JAPANESE_SHARE else "en"


# Where a sentence ends. A full stop ends one only before a space: not in
# "m.lee@example.com" or "3.5".
SENTENCE_END = re.compile(r"(?:[。．!?！？\n]|\.(?=\s|$))+")


def normalize(text: str) -> str:
    """NFKC and case-fold, so full-width and half-width forms and cases compare equal; and
    one apostrophe, so that "don’t" from a phone reads as "don't" typed on a keyboard."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_APOSTROPHES)


# NFKC leaves typographic apostrophes (and the modifier letter some keyboards send) alone.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
