from __future__ import annotations

from bot.mail.charset import decode_bytes, decode_iso2022jp

TEXT = "髙橋①㈱のテスト"


def _cp50220(text: str) -> bytes:
    """Encode as Outlook does: CP932 pairs shifted to JIS, inside ESC $ B."""
    out = bytearray(b"\x1b$B")
    data = text.encode("cp932")
    for i in range(0, len(data), 2):
        s1, s2 = data[i], data[i + 1]
        s1 = (s1 - 0x40 if s1 >= 0xE0 else s1) - 0x81
        j1 = s1 * 2 + 0x21
        if s2 >= 0x9F:
            j1, j2 = j1 + 1, s2 - 0x9F + 0x21
        else:
            j2 = s2 - 0x40 + 0x21 - (1 if s2 > 0x7F else 0)
        out += bytes([j1, j2])
    return bytes(out + b"\x1b(B")


def test_cp50220_extension_characters():
    assert decode_iso2022jp(_cp50220(TEXT)) == TEXT


def test_jis_x0201_katakana_via_escape_and_shift_out():
    assert decode_iso2022jp(b"\x1b(I6@6E\x1b(B!") == "ｶﾀｶﾅ!"
    assert decode_iso2022jp(b"\x0e6@\x0fA") == "ｶﾀA"


def test_mislabelled_shift_jis_as_latin1():
    assert decode_bytes(TEXT.encode("cp932"), "iso-8859-1")[0] == TEXT


def test_shift_jis_label_with_cp932_characters():
    assert decode_bytes(TEXT.encode("cp932"), "Shift_JIS") == (TEXT, "cp932")


def test_utf8_labelled_ascii_and_unlabelled_euc():
    assert decode_bytes(TEXT.encode("utf-8"), "us-ascii")[0] == TEXT
    assert decode_bytes("個人情報の開示".encode("euc_jp"), None)[0] == "個人情報の開示"


def test_iso2022jp_label_missing():
    assert decode_bytes("開示請求です".encode("iso2022_jp"), None)[0] == "開示請求です"


def test_western_text_stays_western():
    assert decode_bytes("café".encode("latin-1"), "iso-8859-1")[0] == "café"
