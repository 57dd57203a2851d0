"""Weighted phrase lists that the classifier matches, built from plain mappings (the bot
reads them from config/lexicon/*.toml) so this module never touches a file.

Matching is one pass of an Aho-Corasick automaton (pyahocorasick) over the text: every
phrase of every table is found at every position, overlaps included, in time that does
not grow with the number of phrases. English words a typo away from a lexicon word are
corrected first (rapidfuzz), unless they are words of the language (a dictionary's).

A phrase may be a frame of two parts, "stop ... texting" or 「提供...控え」: the second part
follows the first within a few words of the same sentence. Its hit covers the second
part, the word that names what is asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import ahocorasick
from rapidfuzz import fuzz, process

from responders.model import SecondOpinion
from responders.text import SENTENCE_END, normalize

TABLES = (
    "category.complaint",
    "category.disclosure_request",
    "category.consultation",
    "request_type.disclosure",
    "request_type.purpose_notification",
    "request_type.revision",
    "request_type.usage_withholding",
    "request_type.third_party_halt",
    "request_type.third_party_records",
    "deputy",
    "anger",
    "third_person_handler",
    "abstract_question",
    "request_marker",
    "procedure_question",
    "hypothetical",
    "greeting",
    "deletion",
    "not_asking_now",
    "calm",
    "elsewhere",
    "addressee",
    "data_named",
    "asks_for_data",
    "put_off",
    "renewal",
    "not_a_request",
    "stop_it",
    "provision",
    "in_use",
    "not_grievance",
    "imperative",
    "company_name_end",
)
# Words that end a company's name ("Mart", 「電機」): read from the text as written, to find
# other companies named by their own name, not matched as phrases.
COMPANY_NAME_END = "company_name_end"

# The table of chat shorthand: words, not weights ("u" = "you").
SHORTHAND = "shorthand"
_WORD = re.compile(r"[a-z][a-z']+")
# A frame's parts ("stop ... texting"): at most this many characters apart, with no end of
# a sentence between them.
FRAME = "..."
_FRAME_GAP = 40
_LATIN = frozenset("abcdefghijklmnopqrstuvwxyz")
# Words this short are too easily a typo of something else.
_FUZZY_MIN_WORD = 5
# Corrections remembered, at most (a bound on memory whatever mail arrives).
_CORRECTIONS_KEPT = 100_000
# A word's correction depends only on the vocabulary, the cut-off and the real words:
# lexicons built alike in one process (the service, a CLI command, the tests) remember
# them together. The real words themselves are the key, not their hash, so two
# dictionaries can never share corrections by a collision.
_SHARED_CORRECTIONS: dict[tuple[tuple[str, ...], float, frozenset[str]], dict[str, str]] = {}


@dataclass(frozen=True)
class Hit:
    start: int
    end: int
    phrase: str


@dataclass
class Lexicon:
    tables: dict[str, dict[str, float]] = field(default_factory=dict)
    fuzzy_min_score: float = 85.0
    # Words of the language (a dictionary's), never taken for a typo of a lexicon word:
    # "unanswered" is not "answered", nor "hearing" "sharing".
    real_words: frozenset[str] = frozenset()
    # The statistical second opinion, learned from labelled examples (optional).
    model: SecondOpinion | None = None
    # Chat shorthand read as the word it stands for ("u" for "you", "acct" for "account").
    shorthand: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._compile()

    def phrases(self, table: str) -> dict[str, float]:
        return self.tables.get(table, {})

    def _compile(self) -> None:
        self._entries: dict[str, list[tuple[str, float]]] = {}
        for table, phrases in self.tables.items():
            if table == COMPANY_NAME_END:
                continue
            for phrase, weight in phrases.items():
                self._entries.setdefault(phrase, []).append((table, weight))
        # A frame is found through its parts: each is a word of the automaton too.
        self._frames: dict[str, list[tuple[str, str, tuple[tuple[str, float], ...]]]] = {}
        parts: set[str] = set()
        for phrase, entries in self._entries.items():
            if FRAME in phrase:
                first, second = (part.strip() for part in phrase.split(FRAME, 1))
                self._frames.setdefault(first, []).append((second, phrase, tuple(entries)))
                parts.update((first, second))
        words = {p: tuple(e) for p, e in self._entries.items() if FRAME not in p}
        self._automaton = ahocorasick.Automaton()
        for phrase in words.keys() | parts:
            self._automaton.add_word(phrase, (phrase, words.get(phrase, ()), phrase in parts))
        self._automaton.make_automaton()
        self._greeting = re.compile(
            "|".join(re.escape(p) for p in sorted(self.phrases("greeting"), key=len, reverse=True))
            or "(?!)"
        )
        self._vocabulary = sorted(
            {w for p in self._entries for w in _WORD.findall(p) if len(w) >= _FUZZY_MIN_WORD}
        )
        self._known = set(self._vocabulary)
        self._shorthand = re.compile(
            r"(?<![\w'])("
            + "|".join(re.escape(w) for w in sorted(self.shorthand, key=len, reverse=True))
            + r")(?![\w'])"
        )
        # A name is one to three capitalised words, the last of them ending in one of the
        # words ("SkyNet Mobile", "MiraiMart", "Kanto Swift Logistics"), or in Japanese a
        # katakana word or a stand-in (「○○」「某」) before one (「ミライマート」「○○電機」).
        ends = sorted(self.phrases(COMPANY_NAME_END), key=len, reverse=True)
        latin = "|".join(
            re.escape(e[0].upper()) + f"(?i:{re.escape(e[1:])})" for e in ends if e[0] in _LATIN
        )
        japanese = "|".join(re.escape(e) for e in ends if e[0] not in _LATIN)
        names = []
        if latin:
            names.append(
                r"(?<![A-Za-z])(?:(?:[A-Z][A-Za-z]+\s+){1,2}(?:[A-Z][a-z]+)?|[A-Z][a-z]+)"
                rf"(?:{latin})(?![A-Za-z])"
            )
        if japanese:
            names.append(rf"(?:○○|××|△△|某|[ァ-ヶー]{{2,}})(?:{japanese})")
        self._company = re.compile("|".join(names) or "(?!)")
        self._corrections = _SHARED_CORRECTIONS.setdefault(
            (tuple(self._vocabulary), self.fuzzy_min_score, self.real_words), {}
        )

    def correct(self, text: str) -> str:
        """Spell out chat shorthand, and replace words one typo away from a lexicon word by
        that word."""
        if self.shorthand:
            text = self._shorthand.sub(lambda m: self.shorthand[m.group(0)], text)
        return _WORD.sub(lambda m: self._corrected(m.group(0)), text)

    def prepare(self, words: Iterable[str]) -> None:
        """Work out ahead the corrections of `words` (those of the labelled examples, at
        start-up: see `words_of`), so that the first messages a new process reads do not
        pay for the words most mail shares."""
        for word in words:
            self._corrected(word)

    def _corrected(self, word: str) -> str:
        if len(word) < _FUZZY_MIN_WORD or word in self._known:
            return word
        cached = self._corrections.get(word)
        if cached is None:
            found = not self._is_real(word) and process.extractOne(
                word, self._vocabulary, scorer=fuzz.ratio, score_cutoff=self.fuzzy_min_score
            )
            cached = found[0] if found else word
            if len(self._corrections) < _CORRECTIONS_KEPT:
                self._corrections[word] = cached
        return cached

    def _is_real(self, word: str) -> bool:
        stem = word.removesuffix("'s").rstrip("'")
        return stem in self.real_words or american(stem) in self.real_words

    def companies(self, text: str) -> set[str]:
        """The names of companies in `text` (as written, before normalising: capitals tell a
        name), normalised."""
        return {normalize(m.group(0)).strip() for m in self._company.finditer(text)}

    def greeting_length(self, line: str) -> int:
        """How many characters of `line` are greeting or closing phrases."""
        return sum(m.end() - m.start() for m in self._greeting.finditer(line))

    def find(self, text: str) -> dict[str, list[tuple[Hit, float]]]:
        """Every phrase found in `text`, by table, with its weight; overlaps included."""
        found: dict[str, list[tuple[Hit, float]]] = {}
        if not self._entries:
            return found
        places: dict[str, list[int]] = {}
        for end, (phrase, entries, part) in self._automaton.iter(text):
            start = end + 1 - len(phrase)
            hit = Hit(start, end + 1, phrase)
            for table, weight in entries:
                found.setdefault(table, []).append((hit, weight))
            if part and starts_word(text, start, phrase):
                places.setdefault(phrase, []).append(start)
        # A frame counts once where its second part stands, however many first parts
        # precede it ("stop, please stop the texting").
        framed: set[Hit] = set()
        for first, starts in places.items():
            for start in starts:
                after = start + len(first)
                for second, phrase, entries in self._frames.get(first, ()):
                    at = _following(text, after, places.get(second, ()))
                    hit = None if at is None else Hit(at, at + len(second), phrase)
                    if hit is None or hit in framed:
                        continue
                    framed.add(hit)
                    for table, weight in entries:
                        found.setdefault(table, []).append((hit, weight))
        return found


_BRITISH = (
    (re.compile(r"is(e|ed|es|ing|ation|ations|er|ers)$"), r"iz\1"),  # apologise, unauthorised
    (re.compile(r"our(s|ed|ing|ite|ites|able|ful)?$"), r"or\1"),  # neighbour, favourite
    (re.compile(r"tre(s|d)?$"), r"ter\1"),  # centre
    (re.compile(r"([aeiou])ll(ed|ing|er|ers)$"), r"\1l\2"),  # travelled
    (re.compile(r"ogue(s)?$"), r"og\1"),  # catalogue
    (re.compile(r"ence$"), r"ense"),  # licence, defence
    (re.compile(r"mme$"), r"m"),  # programme
)


def american(word: str) -> str:
    """`word` in American spelling where British spelling differs by a regular ending
    (the dictionary of real words is American)."""
    for pattern, replacement in _BRITISH:
        word = pattern.sub(replacement, word)
    return word


def words_of(texts: Iterable[str]) -> frozenset[str]:
    """The distinct words of `texts` that typo correction reads, as a message's would be
    read (normalised first)."""
    return frozenset(w for text in texts for w in _WORD.findall(normalize(text)))


def starts_word(text: str, start: int, phrase: str) -> bool:
    """False where a phrase that starts with a Latin letter would start inside a word
    ("our store" is not in "your store")."""
    return not (start and phrase[0] in _LATIN and text[start - 1] in _LATIN)


def _following(text: str, after: int, starts: list[int]) -> int | None:
    """The first of `starts` (where a frame's second part starts a word) within a few
    characters after `after`, in the same sentence; None when there is none."""
    for start in starts:
        if after <= start <= after + _FRAME_GAP and not SENTENCE_END.search(text, after, start):
            return start
    return None


def _flatten(data: dict, prefix: str = "") -> dict[str, dict]:
    """{'category': {'complaint': {...}}} -> {'category.complaint': {...}}"""
    out: dict[str, dict] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            out.update(_flatten(value, name))
        elif isinstance(value, dict):
            out[name] = value
    return out


def build_lexicon(
    *sources: dict, fuzzy_min_score: float = 85.0, real_words: frozenset[str] = frozenset()
) -> Lexicon:
    """Merge lexicon mappings (one per language) into one Lexicon.

    Raises ValueError naming the table or phrase that is wrong.
    """
    tables: dict[str, dict[str, float]] = {t: {} for t in TABLES}
    shorthand: dict[str, str] = {}
    for source in sources:
        for table, entries in _flatten(source).items():
            if table == SHORTHAND:
                for word, meaning in entries.items():
                    if not isinstance(meaning, str):
                        raise ValueError(f"lexicon [{table}] {word!r}: give the word it stands for")
                    shorthand[normalize(word).strip()] = normalize(meaning).strip()
                continue
            if table not in tables:
                raise ValueError(f"unknown lexicon table [{table}]")
            for phrase, weight in entries.items():
                if not isinstance(weight, int | float) or isinstance(weight, bool):
                    raise ValueError(f"lexicon [{table}] {phrase!r}: weight must be a number")
                text = normalize(phrase).strip()
                if text:
                    tables[table][text] = float(weight)
    return Lexicon(
        tables, fuzzy_min_score=fuzzy_min_score, real_words=real_words, shorthand=shorthand
    )
