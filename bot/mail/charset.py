"""Turns the bytes of a mail part into text, whatever its charset claims.

Japanese mail is often mislabelled: Shift_JIS sent as ISO-8859-1, CP932 characters sent
as Shift_JIS, UTF-8 with no declaration, Microsoft's ISO-2022-JP (CP50220) with NEC and
IBM extension characters that Python's iso2022_jp codec refuses. So the declared charset
is only the first guess; the decoding that reads most like text wins.
"""

from __future__ import annotations

import codecs
import unicodedata

# Declared names that really mean a superset in the wild.
_SUPERSETS = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "ms932": "cp932",
    "cp50220": "iso-2022-jp",
    "cp50221": "iso-2022-jp",
    "csiso2022jp": "iso-2022-jp",
    "iso-2022-jp-ms": "iso-2022-jp",
    "euc-jp": "euc_jis_2004",
    "x-euc-jp": "euc_jis_2004",
    "us-ascii": "ascii",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
}
_FALLBACKS = ("utf-8", "cp932", "euc_jis_2004", "cp1252", "latin-1")
_ESC = 0x1B


def decode_iso2022jp(data: bytes) -> str:
    """ISO-2022-JP as Microsoft writes it (CP50220/CP50221): JIS X 0208 plus the NEC
    and IBM extension rows, and JIS X 0201 katakana via ESC ( I or SO/SI.

    Each two-byte JIS pair is mapped to its Shift_JIS pair and decoded as CP932, which
    holds the extension characters. Raises UnicodeDecodeError on malformed input.
    """
    out: list[str] = []
    mode = "ascii"
    shifted = False
    i = 0
    n = len(data)
    while i < n:
        b = data[i]
        if b == _ESC:
            seq = data[i + 1 : i + 3]
            if seq in (b"$B", b"$@"):
                mode, i = "jis", i + 3
            elif data[i + 1 : i + 4] == b"$(D" or data[i + 1 : i + 4] == b"$(Q":
                mode, i = "jis", i + 4
            elif seq in (b"(B", b"(J"):
                mode, i = "ascii", i + 3
            elif seq == b"(I":
                mode, i = "kana", i + 3
            else:
                raise UnicodeDecodeError("iso-2022-jp", data, i, i + 1, "unknown escape")
            continue
        if b == 0x0E:  # SO: half-width katakana until SI
            shifted, i = True, i + 1
            continue
        if b == 0x0F:
            shifted, i = False, i + 1
            continue
        if b >= 0x80:
            raise UnicodeDecodeError("iso-2022-jp", data, i, i + 1, "8-bit byte")
        if b in (0x0A, 0x0D):
            out.append(chr(b))
            i += 1
            continue
        if shifted or mode == "kana":
            out.append(bytes([b + 0x80]).decode("cp932"))
            i += 1
        elif mode == "jis":
            if i + 1 >= n:
                raise UnicodeDecodeError("iso-2022-jp", data, i, n, "truncated pair")
            out.append(_jis_pair_to_sjis(b, data[i + 1]).decode("cp932"))
            i += 2
        else:
            out.append(chr(b))
            i += 1
    return "".join(out)


def _jis_pair_to_sjis(j1: int, j2: int) -> bytes:
    if not (0x21 <= j1 <= 0x7E and 0x21 <= j2 <= 0x7E):
        raise UnicodeDecodeError("iso-2022-jp", bytes([j1, j2]), 0, 2, "not a JIS pair")
    s1 = ((j1 + 1) >> 1) + (0x70 if j1 <= 0x5E else 0xB0)
    if j1 & 1:
        s2 = j2 + 0x1F
        if s2 >= 0x7F:  # Shift_JIS skips 0x7F
            s2 += 1
    else:
        s2 = j2 + 0x7E
    return bytes([s1, s2])


def _decode(data: bytes, charset: str) -> str:
    if charset == "iso-2022-jp" or charset.startswith("iso-2022-jp"):
        return decode_iso2022jp(data)
    return data.decode(charset)


def _score(text: str) -> float:
    """How much a decoding reads like text: penalise control and private-use characters
    and mojibake-shaped Latin-1 runs; reward kana, which random bytes rarely produce."""
    if not text:
        return 0.0
    bad = kana = 0
    for ch in text:
        cat = unicodedata.category(ch)
        if (cat == "Cc" and ch not in "\r\n\t") or cat in ("Co", "Cs", "Cn"):
            bad += 3
        elif "\u0080" <= ch <= "\u00ff":
            bad += 1
        elif "\u3040" <= ch <= "\u30ff":
            kana += 1
    return (kana * 0.5 - bad) / len(text)


def normalize_charset(declared: str | None) -> str | None:
    if not declared:
        return None
    name = declared.strip().strip('"').lower()
    name = _SUPERSETS.get(name, name)
    try:
        codecs.lookup("iso2022_jp" if name.startswith("iso-2022-jp") else name)
    except LookupError:
        return None
    return name


def decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode `data`; returns (text, charset actually used)."""
    charset = normalize_charset(declared)
    if b"\x1b" in data and all(b < 0x80 for b in data):
        # 7-bit with escape sequences: ISO-2022-JP whatever the label says.
        try:
            return decode_iso2022jp(data), "iso-2022-jp"
        except UnicodeDecodeError:
            pass
    if all(b < 0x80 for b in data) and charset != "iso-2022-jp":
        return data.decode("ascii"), "ascii"  # plain ASCII: every candidate agrees
    if charset not in ("cp932", "euc_jis_2004"):
        # Non-ASCII text that is valid UTF-8 is UTF-8 whatever the label claims: other
        # encodings almost never happen to form valid UTF-8 sequences.
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass

    candidates = [charset] if charset else []
    candidates.extend(c for c in _FALLBACKS if c not in candidates)
    best: tuple[float, str, str] | None = None
    for i, name in enumerate(candidates):
        try:
            text = _decode(data, name)
        except (UnicodeDecodeError, LookupError):
            continue
        # Earlier candidates (the declared one first) win ties.
        score = _score(text) - i * 0.001
        if best is None or score > best[0]:
            best = (score, text, name)
    if best is None:
        return data.decode(charset or "utf-8", errors="replace"), "replace"
    return best[1], best[2]
