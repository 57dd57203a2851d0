from __future__ import annotations

from responders.text import detect_language, normalize, strip_quoted


def test_language_mostly_japanese_with_latin_ids():
    assert detect_language("個人情報の開示をお願いします。会員番号は ABC-12345 です。") == "ja"


def test_language_english_with_a_japanese_company_name():
    assert detect_language("Dear actio株式会社, please tell me what data you hold on me.") == "en"


def test_strip_english_reply_and_signature():
    body = (
        "Please also correct my address.\n\n"
        "-- \nTaro Sato\nTel 03-0000-0000\n\n"
        "On Mon, 16 Nov 2026 at 10:02, Inquiry <inquiry@example.com> wrote:\n"
        "> Your inquiry has been registered.\n"
    )
    assert strip_quoted(body) == "Please also correct my address."


def test_strip_interleaved_quotes_keeps_new_text():
    body = "> What is your customer number?\nIt is 12345.\n> Thanks\nRegards"
    assert strip_quoted(body) == "It is 12345.\nRegards"


def test_strip_japanese_outlook_block_and_signature_rule():
    body = (
        "訂正をお願いいたします。\n\n"
        "━━━━━━━━━━━━━━\n山田 太郎\n株式会社サンプル\nTEL: 03-0000-0000\n━━━━━━━━━━━━━━\n\n"
        "-----Original Message-----\nFrom: inquiry@example.com\nSent: Monday\n以前の本文\n"
    )
    assert strip_quoted(body) == "訂正をお願いいたします。"


def test_strip_gmail_japanese_header_and_mobile_footer():
    body = (
        "了解しました。削除してください。\n\niPhoneから送信\n\n"
        "2026年11月20日(金) 10:00 山田太郎 <taro@example.jp>:\n> 以前の本文\n"
    )
    assert strip_quoted(body) == "了解しました。削除してください。"


def test_outlook_english_separator():
    body = "Thanks, see below.\n\n________________________________\nFrom: A\nSent: B\nOld"
    assert strip_quoted(body) == "Thanks, see below."


def test_normalize_reads_a_curly_apostrophe_as_a_straight_one():
    assert normalize("I DON’T want it, it’s mine") == "i don't want it, it's mine"
