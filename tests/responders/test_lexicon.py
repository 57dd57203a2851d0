"""Phrase matching, frames of two parts included."""

from __future__ import annotations

import pytest

from responders.lexicon import american, build_lexicon, words_of


def found(text: str, table: str = "request_type.usage_withholding") -> list[tuple[str, str]]:
    lexicon = build_lexicon(
        {
            table: {
                "stop ... texting": 3.0,
                "提供...控え": 3.0,
                "dm...止めて": 3.0,
                "take me off": 3.0,
            }
        }
    )
    return [(hit.phrase, text[hit.start : hit.end]) for hit, _ in lexicon.find(text).get(table, [])]


def test_a_plain_phrase_is_found_where_it_stands():
    assert found("please take me off your list") == [("take me off", "take me off")]


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("please stop texting me", "texting"),
        ("please stop all the promotional texting, thanks", "texting"),
        ("今後の提供はお控えください", "控え"),
        ("dm止めてください", "止めて"),
        ("stop, please stop the texting", "texting"),  # once, however many first parts
    ],
)
def test_a_frame_is_found_when_its_second_part_follows_in_the_sentence(text, part):
    # The hit covers the second part, the word that names what is asked.
    assert [covered for _, covered in found(text)] == [part]


@pytest.mark.parametrize(
    "text",
    [
        "texting is fine, but please stop",  # the wrong order
        "please stop. texting me is fine",  # another sentence
        "提供について伺います。控えはありますか",  # another sentence (Japanese)
        "please stop by the store some day next week, and do not worry about texting",
        "stop pretexting",  # inside another word
        "nonstop texting",  # the first part inside another word
    ],
)
def test_a_frame_is_not_found_apart_or_out_of_order(text):
    assert found(text) == []


def test_corrections_worked_out_ahead_are_the_ones_a_message_gets():
    table = {"request_type.disclosure": {"access my data": 3.0}}
    prepared = build_lexicon(table)
    # Examples arrive raw (full-width, capitals): their words are read as a message's.
    words = words_of(["Ｉ want to ACESS my dta", "nothing to fix here"])
    assert "acess" in words
    prepared.prepare(words)
    assert "acess" in prepared._corrections  # remembered: no look-up at the first message
    assert prepared.correct("i want to acess my dta") == "i want to access my dta"
    # A lexicon built alike (another service in the same process) has them too.
    assert "acess" in build_lexicon(table)._corrections


def test_a_word_of_the_dictionary_is_not_taken_for_a_typo():
    table = {"category.complaint": {"misdelivered": 2.0, "answered": 1.0, "access": 1.0}}
    plain = build_lexicon(table)
    guarded = build_lexicon(table, real_words=frozenset({"delivered", "unanswered"}))
    text = "it was delivered, and my mail is unanswered; i want to acess it"
    # Without a dictionary, a real word one letter from a lexicon word becomes that word.
    assert plain.correct(text) == (
        "it was misdelivered, and my mail is answered; i want to access it"
    )
    assert (
        guarded.correct(text) == "it was delivered, and my mail is unanswered; i want to access it"
    )


@pytest.mark.parametrize(
    ("word", "dictionary_word"),
    [
        ("unauthorised", "unauthorized"),  # British spelling of a word the dictionary has
        ("neighbours", "neighbors"),
        ("customer's", "customer"),  # possessive
        ("customers'", "customers"),
    ],
)
def test_british_spellings_and_possessives_of_dictionary_words_are_real(word, dictionary_word):
    table = {"category.complaint": {"authorised": 1.0, "neighbour": 1.0, "customers": 1.0}}
    assert build_lexicon(table, real_words=frozenset({dictionary_word})).correct(word) == word


@pytest.mark.parametrize(
    ("british", "american_spelling"),
    [
        ("apologise", "apologize"),
        ("organisation", "organization"),
        ("favourite", "favorite"),
        ("centre", "center"),
        ("travelled", "traveled"),
        ("catalogues", "catalogs"),
        ("licence", "license"),
        ("programme", "program"),
        ("address", "address"),  # no British ending: unchanged
    ],
)
def test_american_spelling(british, american_spelling):
    assert american(british) == american_spelling


def test_chat_shorthand_is_spelt_out_as_a_whole_word_only():
    lexicon = build_lexicon(
        {"request_type.disclosure": {"what you keep on me": 3.0}, "shorthand": {"u": "you"}}
    )
    assert lexicon.correct("can u tell me what u keep on me") == (
        "can you tell me what you keep on me"
    )
    # Not inside a word, nor a letter of a list or a contraction.
    assert lexicon.correct("unit u's") == "unit u's"
    assert lexicon.find(lexicon.correct("what u keep on me"))["request_type.disclosure"]


def test_a_shorthand_needs_the_word_it_stands_for():
    with pytest.raises(ValueError, match="the word it stands for"):
        build_lexicon({"shorthand": {"u": 1.0}})


def test_companies_are_names_ending_in_a_word_that_ends_company_names():
    lexicon = build_lexicon(
        {"company_name_end": {"Mart": 1.0, "Mobile": 1.0, "Co.": 1.0, "電機": 1.0}}
    )
    text = (
        "SkyNet Mobile and MiraiMart leaked it; Hikari Travel Co. did not. "
        "The mart on the corner, a mobile number and Mobile alone name no one. "
        "○○電機とミライ電機から電話。電機店にも。"
    )
    assert lexicon.companies(text) == {
        "skynet mobile",
        "miraimart",
        "hikari travel co.",
        "○○電機",
        "ミライ電機",
    }
    # The words are read from the text as written, not matched as phrases.
    assert "company_name_end" not in lexicon.find("skynet mobile")
