"""Masking of personal data before text is posted to Slack or logged (pure): My Number, card
numbers, phone numbers, email addresses, postal addresses and dates of birth."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parseaddr

# 12 digits, optionally grouped 4-4-4 by a space or hyphen; full-width digits count too.
_D = "[0-9０-９]"
# Deliberately broad (a 4-4-4 group inside a longer run counts): it guards what is stored.
_MY_NUMBER = re.compile(
    rf"(?<![0-9０-９])({_D}{{4}})[ \-－ー]?({_D}{{4}})[ \-－ー]?({_D}{{4}})(?![0-9０-９])"
)
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def my_number_check_digit(first_eleven: str) -> int:
    """The check digit defined for the individual number (Numbers Act ordinance, art. 5)."""
    total = 0
    for n in range(1, 12):
        p = int(first_eleven[11 - n])
        q = n + 1 if n <= 6 else n - 5
        total += p * q
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_my_number(digits: str) -> bool:
    digits = digits.translate(_FULLWIDTH_DIGITS)
    return (
        len(digits) == 12
        and digits.isdigit()
        and my_number_check_digit(digits[:11]) == int(digits[11])
    )


def find_my_numbers(text: str) -> list[str]:
    return [m.group(0) for m in _MY_NUMBER.finditer(text) if is_my_number("".join(m.groups()))]


def mask_my_numbers(text: str) -> str:
    """Replace every valid My Number by asterisks, keeping its separators."""

    def mask(m: re.Match[str]) -> str:
        if not is_my_number("".join(m.groups())):
            return m.group(0)
        return re.sub(_D, "*", m.group(0))

    return _MY_NUMBER.sub(mask, text)


@dataclass(frozen=True)
class Finding:
    kind: str  # "my_number" | "card" | "phone" | "email" | "postal_address" | "birth_date"
    start: int
    end: int


# Japanese input methods produce many hyphen look-alikes; all of them separate digit groups.
_HY = "-‐‑–−－ー"  # the ASCII hyphen first, so that it is literal in a class
_SEP = f"[{_HY} 　]"
# What may not touch a match, counting * as what it may have hidden: redacted text must
# be read as the original was, or redact would not be idempotent.
_DM = "[0-9０-９*]"
_WM = "[0-9A-Za-z_*]"
_ANM = "[0-9０-９A-Za-z*]"
# Patterns open with a character class, not a look-behind, so that the scanner can skip
# ahead to candidates; the look-behind that follows checks what precedes that character.
# A number's first digit: not inside a longer number, nor in "2026-0312..." (an ID).
_FIRST_DIGIT = rf"{_D}(?<!{_DM}{_D})(?<!{_DM}[{_HY}]{_D})"
_NO_MORE_DIGITS = rf"(?!{_DM})(?![{_HY}]{_DM})"
_DIGIT_RUN = re.compile(r"[0-9０-９]+")
_NON_DIGIT = re.compile(r"[^0-9]")

# Unlike _MY_NUMBER, not 12 digits out of a longer grouped run (a 16-digit order number).
_MY_NUMBER_ALONE = re.compile(
    rf"{_D}(?<!{_DM}{_D})(?<!{_DM}{{4}}{_SEP}{_D}){_D}{{3}}{_SEP}?{_D}{{4}}{_SEP}?{_D}{{4}}"
    rf"(?!{_DM})(?!{_SEP}{_DM}{{4}})"
)
# A run of digit groups joined by single separators; cards are looked for inside it.
_DIGIT_GROUPS = re.compile(rf"{_D}(?<!{_DM}{_D})(?<!{_DM}{_SEP}{_D}){_D}*(?:{_SEP}{_D}+)*")
# Domestic: a leading 0, the area code optionally in brackets; the digit count is checked
# after. After an opening bracket the 0 must follow.
_PHONE_JP = re.compile(
    rf"[(（0０](?<!{_ANM}[(（0０])(?<!{_DM}[{_HY}][(（0０])(?:(?<=[(（])[0０]|(?<=[0０]))"
    rf"{_D}{{1,4}}[)）]?{_SEP}?[(（]?{_D}{{1,4}}[)）]?{_SEP}?{_D}{{3,4}}{_NO_MORE_DIGITS}"
)
# International: + and a country code. Possessive groups keep a long digit run linear.
_PHONE_INTL = re.compile(
    rf"[+＋](?<![0-9０-９A-Za-z*+＋][+＋])[1-9１-９]{_D}{{0,2}}"
    rf"(?:(?:{_SEP}|[.．])?[(（]?{_D}{{1,4}}+[)）]?){{2,6}}(?!{_DM})"
)
# Emails are found from their @ outwards: scanning for the local part first is slow.
_AT = re.compile("[@＠]")
_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-")
# The last label starts with a letter, so that digits after "example.org." stay outside.
_DOMAIN = re.compile(
    r"[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*\.[A-Za-z][A-Za-z0-9\-]*(?![\w\-])", re.ASCII
)
# Host and path only: digits there are identifiers, while a query may carry data. From
# "://" on, whatever the scheme, which may be glued to the word before it.
_URL = re.compile(r"://[A-Za-z0-9\-._~%!$&'()*+,;=:@/]+")

_PREFECTURES = (
    "北海道|青森県|岩手県|宮城県|秋田県|山形県|福島県|茨城県|栃木県|群馬県|埼玉県|千葉県|"
    "東京都|神奈川県|新潟県|富山県|石川県|福井県|山梨県|長野県|岐阜県|静岡県|愛知県|三重県|"
    "滋賀県|京都府|大阪府|兵庫県|奈良県|和歌山県|鳥取県|島根県|岡山県|広島県|山口県|徳島県|"
    "香川県|愛媛県|高知県|福岡県|佐賀県|長崎県|熊本県|大分県|宮崎県|鹿児島県|沖縄県"
)
_ROMAJI_PREFECTURES = (
    "Hokkaid[oō]|Aomori|Iwate|Miyagi|Akita|Yamagata|Fukushima|Ibaraki|Tochigi|Gunma|Saitama|"
    "Chiba|T[oō]ky[oō]|Kanagawa|Niigata|Toyama|Ishikawa|Fukui|Yamanashi|Nagano|Gifu|Shizuoka|"
    "Aichi|Mie|Shiga|Ky[oō]to|[OŌ]saka|Hy[oō]go|Nara|Wakayama|Tottori|Shimane|Okayama|"
    "Hiroshima|Yamaguchi|Tokushima|Kagawa|Ehime|K[oō]chi|Fukuoka|Saga|Nagasaki|Kumamoto|"
    "[OŌ]ita|Miyazaki|Kagoshima|Okinawa"
)
_ROMAJI_PLACE = (
    rf"(?:{_ROMAJI_PREFECTURES})(?:-(?:to|fu|do|ken))?"
    r"|[A-Za-zōŌ]+-(?:shi|ku|gun|cho|machi|mura|son)"
)
_JA_PLACE = rf"{_PREFECTURES}|[\u4e00-\u9fff]{{1,6}}?[市区郡町村]"
_PREFECTURE = re.compile(_PREFECTURES)
_POSTAL_CODE = re.compile(rf"{_FIRST_DIGIT}{_D}{{2}}[{_HY}]?{_D}{{4}}(?!{_DM})")
# What follows a bare code to make it an address: a prefecture or a city, ward, town...
_PLACE_AFTER = re.compile(rf"[ 　]*(?:{_JA_PLACE}|(?i:{_ROMAJI_PREFECTURES})(?!{_WM}))")
# An English-style address names its place right before the code: "Shibuya-ku, Tokyo 150-0002".
_PLACE_BEFORE = re.compile(
    rf"(?<!{_WM})(?:{_ROMAJI_PLACE}),?[ \t　]+(?:Japan,?[ \t　]+)?(?:〒[ 　]*)?\Z", re.IGNORECASE
)
# How far before a code a place or prefecture is looked for.
_ADDRESS_REACH = 80
# A code is marked as one by a 〒 or a label before it.
_POSTAL_MARK = re.compile(
    r"(?:(〒)|郵便番号|(?<![A-Za-z])(?i:postal code|post code|zip code|zip))[ 　]*[:：]?[ 　]*\Z"
)
_POSTAL_MARK_REACH = 16
# A code alone on its line has its address on the next: a line starting with a place, or
# a form's "住所：" / "Address:" field (group 1 is what is masked).
_NEXT_LINE_ADDRESS = re.compile(
    rf"[ \t　]*\n[ \t　]*(?:(?:ご?住所|(?i:address))[ 　]*[:：]?[ 　]*|(?={_JA_PLACE}))([^\n]+)"
)

# Each branch re-checks the leading character (see above); no letter or digit may touch a word.
_BIRTH_WORDS = re.compile(
    rf"[生誕DdBb](?<!{_WM}[DdBb])(?i:(?<=生)(?:年月日|まれ)|(?<=誕)生日"
    rf"|(?<=d)(?:ate of birth|\.?o\.?b(?!{_WM})\.?)|(?<=b)(?:irth ?date|irthday|orn(?!{_WM})))"
)
# A period ends an English sentence only before a capital or the like, so that "Jan. 2" and
# "D.O.B. 02/01/1980" stay one sentence.
_SENTENCE_END = re.compile(r"[\n。！？!?]|\.(?=\s+[^\s0-9a-z])")
# A birth word alone on a form line ("生年月日：") labels the next non-blank line.
_LABEL_THEN_LINE = re.compile(r"[ \t　:：=＝)）\]】」』|｜]*\n\s*[^\n]*")
_MONTHS = (
    "Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    "Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?"
)
_GAP = "[ 　]*"  # Japanese dates are often typed with spaces
_DATE = re.compile(
    rf"(?<!{_ANM})(?:"
    rf"(?:明治|大正|昭和|平成|令和){_GAP}(?:{_D}{{1,2}}|元){_GAP}年{_GAP}{_D}{{1,2}}{_GAP}月{_GAP}{_D}{{1,2}}{_GAP}日"
    rf"|{_D}{{4}}{_GAP}年{_GAP}{_D}{{1,2}}{_GAP}月{_GAP}{_D}{{1,2}}{_GAP}日"
    rf"|[MTSHR][ 　]?{_D}{{1,2}}[./．／]{_D}{{1,2}}[./．／]{_D}{{1,2}}"
    rf"|{_D}{{4}}[-/.／－]{_D}{{1,2}}[-/.／－]{_D}{{1,2}}"
    rf"|{_D}{{1,2}}[-/.／－]{_D}{{1,2}}[-/.／－]{_D}{{4}}"
    rf"|{_D}{{8}}"
    rf"|{_D}{{1,2}}(?:st|nd|rd|th)? +(?:{_MONTHS})\.?,? +{_D}{{4}}"
    rf"|(?:{_MONTHS})\.? +{_D}{{1,2}}(?:st|nd|rd|th)?,? +{_D}{{4}}"
    rf")(?!{_DM})",
    re.IGNORECASE,
)

# Separators stay so that the masked value keeps its shape; every letter and digit goes.
_KEEP = f"{_HY}/／.．,，、:：()（）+＋〒年月日"
_MASKABLE = re.compile(rf"[^\s{re.escape(_KEEP)}]")
# In an address every character but spaces goes; the 〒 says only that an address was there.
_ADDRESS_MASKABLE = re.compile(r"[^\s〒]")


def _digits(text: str) -> str:
    return _NON_DIGIT.sub("", text.translate(_FULLWIDTH_DIGITS))


_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def _luhn_ok(digits: str) -> bool:
    kept = sum(map(int, digits[-1::-2]))
    doubled = sum(_LUHN_DOUBLED[int(d)] for d in digits[-2::-2])
    return (kept + doubled) % 10 == 0


def _intl_phone_end(chunk: str) -> int | None:
    """The end of the longest prefix of `chunk` that ends a digit group and holds 8-15
    digits (E.164 allows 15): groups that merely follow the number are left out."""
    count = len(_digits(chunk))
    for run in reversed(list(_DIGIT_RUN.finditer(chunk))):
        if 8 <= count <= 15:
            return run.end()
        count -= len(run.group())
    return None


def _my_numbers(text: str) -> Iterator[Finding]:
    for m in _MY_NUMBER_ALONE.finditer(text):
        if is_my_number(_digits(m.group(0))):
            yield Finding("my_number", m.start(), m.end())


def _card_end(groups: list[str], i: int) -> int | None:
    """The last group of the longest card number starting at group i: 13-19 digits passing
    Luhn, either in one piece or in groups of at most 6 opening with 4-6 (4-4-4-4, 4-6-5)."""
    if not 4 <= len(groups[i]) <= 19:
        return None
    digits, last = "", None
    for j in range(i, len(groups)):
        if j > i and (len(groups[i]) > 6 or len(groups[j]) > 6):
            break
        digits += groups[j]
        if len(digits) > 19:
            break
        if len(digits) >= 13 and _luhn_ok(digits):
            last = j
    return last


def _cards(text: str) -> Iterator[Finding]:
    # Every group may open a card, not only the first of a run: "Ref 12 4111 1111 1111 1111".
    for run in _DIGIT_GROUPS.finditer(text):
        if run.end() - run.start() < 13:  # too short to hold 13 digits
            continue
        groups = list(_DIGIT_RUN.finditer(text, run.start(), run.end()))
        digits = [_digits(g.group()) for g in groups]
        i = 0
        while i < len(groups):
            last = _card_end(digits, i)
            if last is None:
                i += 1
                continue
            yield Finding("card", groups[i].start(), groups[last].end())
            i = last + 1


def _phones(text: str) -> Iterator[Finding]:
    for m in _PHONE_JP.finditer(text):
        digits = _digits(m.group(0))
        # 00 starts an international call prefix, not a domestic number.
        if len(digits) in (10, 11) and digits[1] != "0":
            yield Finding("phone", m.start(), m.end())
    for m in _PHONE_INTL.finditer(text):
        end = _intl_phone_end(m.group(0))
        if end is not None:
            yield Finding("phone", m.start(), m.start() + end)


def _emails(text: str) -> Iterator[Finding]:
    for at in _AT.finditer(text):
        domain = _DOMAIN.match(text, at.end())
        start = at.start()
        while start > 0 and text[start - 1] in _LOCAL_CHARS:
            start -= 1
        if domain and start < at.start():
            yield Finding("email", start, domain.end())


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def _value_start(text: str, pos: int) -> int:
    """Where the value holding `pos` starts: its line, after a label like "住所：" if any."""
    line_start = text.rfind("\n", 0, pos) + 1
    colon = max(text.rfind(":", line_start, pos), text.rfind("：", line_start, pos))
    start = line_start if colon < 0 else colon + 1
    while start < pos and text[start] in " \t　":
        start += 1
    return start


def _postal_mark(text: str, pos: int) -> int | None:
    """Where a code found at `pos` starts, 〒 included, if it is marked as a code."""
    mark = _POSTAL_MARK.search(text, max(0, pos - _POSTAL_MARK_REACH), pos)
    if mark is None:
        return None
    return mark.start(1) if mark.group(1) else pos


def _japanese_address(text: str, code: re.Match[str]) -> list[tuple[int, int]]:
    start = _postal_mark(text, code.start())
    if start is None and not _PLACE_AFTER.match(text, code.end()):
        return []
    start = code.start() if start is None else start
    # Written the other way round, the prefecture comes before the code.
    reach = max(_value_start(text, start), start - _ADDRESS_REACH)
    prefecture = _PREFECTURE.search(text, reach, start)
    end = _line_end(text, code.end())
    spans = [(prefecture.start() if prefecture else start, end)]
    if not text[code.end() : end].strip():
        below = _NEXT_LINE_ADDRESS.match(text, end)
        if below:
            spans.append(below.span(1))
    return spans


def _after_word(text: str, pos: int) -> bool:
    """Whether a Latin word (and maybe a comma, spaces, a 〒) comes right before `pos`: a
    cheap test before the search for a place name."""
    i = pos
    while i > 0 and text[i - 1] in " \t　〒,.":
        i -= 1
    return i > 0 and ((text[i - 1].isascii() and text[i - 1].isalpha()) or text[i - 1] in "ōŌ")


def _english_address(text: str, code: re.Match[str]) -> list[tuple[int, int]]:
    if not _after_word(text, code.start()):
        return []
    value_start = _value_start(text, code.start())
    reach = max(value_start, code.start() - _ADDRESS_REACH)
    if not _PLACE_BEFORE.search(text, reach, code.start()):
        return []
    # Where the address itself starts cannot be told: the whole value of the line goes.
    return [(value_start, _line_end(text, code.end()))]


def _addresses(text: str) -> Iterator[Finding]:
    covered = 0
    for code in _POSTAL_CODE.finditer(text):
        if code.start() < covered:  # inside an address already found
            continue
        for start, end in _japanese_address(text, code) or _english_address(text, code):
            covered = end
            yield Finding("postal_address", start, end)


def _birth_contexts(text: str) -> list[tuple[int, int]]:
    """The sentences (or form fields) that hold a birth word, merged where they meet."""
    words = list(_BIRTH_WORDS.finditer(text))
    if not words:
        return []
    starts = [m.end() for m in _SENTENCE_END.finditer(text)]
    spans: list[tuple[int, int]] = []
    for word in words:
        before = bisect_right(starts, word.start())
        after = bisect_right(starts, word.end())
        start = starts[before - 1] if before else 0
        end = starts[after] if after < len(starts) else len(text)
        label = _LABEL_THEN_LINE.match(text, word.end())
        if label:
            end = max(end, label.end())
        if spans and start <= spans[-1][1]:
            start, end = spans[-1][0], max(end, spans.pop()[1])
        spans.append((start, end))
    return spans


def _birth_dates(text: str) -> Iterator[Finding]:
    for start, end in _birth_contexts(text):
        for m in _DATE.finditer(text, start, end):
            yield Finding("birth_date", m.start(), m.end())


def _url_paths(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _URL.finditer(text)]


def _in_url(finding: Finding, urls: list[tuple[int, int]]) -> bool:
    i = bisect_right(urls, finding.start, key=lambda url: url[0]) - 1
    return i >= 0 and finding.end <= urls[i][1]


def _merge(findings: list[Finding]) -> list[Finding]:
    """Overlapping findings become one, with the kind of the earliest (then longest), so
    that no tail of one is left showing."""
    findings.sort(key=lambda f: (f.start, -f.end))
    merged: list[Finding] = []
    for f in findings:
        if merged and f.start < merged[-1].end:
            if f.end > merged[-1].end:
                merged[-1] = Finding(merged[-1].kind, merged[-1].start, f.end)
            continue
        merged.append(f)
    return merged


def _without_emails(text: str, emails: list[Finding]) -> str:
    """`text` with each address turned into as many @: the other kinds are looked for in
    it, so that what stands next to an address reads the same before and after the address
    is masked to a different length ("***@***")."""
    parts: list[str] = []
    last = 0
    for f in emails:
        parts += (text[last : f.start], "@" * (f.end - f.start))
        last = f.end
    parts.append(text[last:])
    return "".join(parts)


def find_pii(text: str, *, sender: str | None = None) -> list[Finding]:
    """Every piece of personal data in `text`, sorted and non-overlapping. The sender's own
    address is found like any other: `sender` changes only how `redact` shows it."""
    del sender
    emails = _merge(list(_emails(text)))
    view = _without_emails(text, emails) if emails else text
    urls = _url_paths(view)
    others = (_my_numbers, _cards, _phones, _addresses, _birth_dates)
    found = [f for finder in others for f in finder(view) if not _in_url(f, urls)]
    return _merge(emails + found)


def mask_address(address: str) -> str:
    """'taro.yamada@example.co.jp' -> 't***@e***.jp': recognisable to its owner, not to a
    reader."""
    local, _, domain = address.strip().partition("@")
    tld = domain.rpartition(".")[2] if "." in domain else ""
    return f"{local[:1]}***@{domain[:1]}***" + (f".{tld}" if tld else "")


def _mask_address_text(chunk: str) -> str:
    """All but spaces and the 〒 goes; the postal code keeps its hyphen."""
    masked = _ADDRESS_MASKABLE.sub("*", chunk)
    code = _POSTAL_CODE.search(chunk)
    if code:
        masked = masked[: code.start()] + _MASKABLE.sub("*", code.group()) + masked[code.end() :]
    return masked


def redact(text: str, *, sender: str | None = None) -> str:
    """`text` with every piece of personal data masked, the sender's own address shown as
    `mask_address(sender)`; redact(redact(x)) == redact(x)."""
    own = parseaddr(sender)[1] if sender else ""
    out: list[str] = []
    last = 0
    for f in find_pii(text):
        chunk = text[f.start : f.end]
        if f.kind == "email":
            masked = mask_address(own) if own and chunk.lower() == own.lower() else "***@***"
        elif f.kind == "postal_address":
            masked = _mask_address_text(chunk)
        else:
            masked = _MASKABLE.sub("*", chunk)
        out += (text[last : f.start], masked)
        last = f.end
    out.append(text[last:])
    return "".join(out)
