"""Sorts an inquiry into complaint, disclosure request or consultation, with the
request types, the deputy flag, a confidence and the phrases that decided it (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from responders.lexicon import Lexicon, Phrase
from responders.models import CATEGORIES, REQUEST_TYPES, Classification, Inquiry
from responders.text import detect_language, normalize, strip_quoted

# Score a category needs before it is considered present.
_PRESENT = 1.0
_STRONG = 1.5
_FUZZY_MIN_LENGTH = 5
_WORD = re.compile(r"[a-z0-9']+")


@dataclass
class _Hits:
    score: float = 0.0
    phrases: list[str] | None = None

    def add(self, phrase: str, weight: float) -> None:
        self.score += weight
        if self.phrases is None:
            self.phrases = []
        self.phrases.append(phrase)


class _Matcher:
    """Finds lexicon phrases in one normalized text, exactly or as near misses."""

    def __init__(self, text: str, fuzzy_min_score: float) -> None:
        self.text = text
        self.fuzzy_min_score = fuzzy_min_score
        words = _WORD.findall(text)
        # Word windows of each length, for typo-tolerant matching of English phrases.
        self.windows: dict[int, list[str]] = {
            k: [" ".join(words[i : i + k]) for i in range(len(words) - k + 1)] for k in range(1, 5)
        }

    def match(self, phrases: list[Phrase]) -> _Hits:
        hits = _Hits()
        for phrase in phrases:
            if phrase.text in self.text:
                hits.add(phrase.text, phrase.weight)
            elif phrase.words and len(phrase.text) >= _FUZZY_MIN_LENGTH:
                windows = self.windows.get(min(phrase.words, 4), [])
                found = process.extractOne(
                    phrase.text, windows, scorer=fuzz.ratio, score_cutoff=self.fuzzy_min_score
                )
                if found:
                    hits.add(f"{phrase.text}~{found[0]}", phrase.weight * found[1] / 100)
        return hits


def classify(
    inquiry: Inquiry,
    lexicon: Lexicon,
    *,
    needs_human_threshold: float = 0.4,
    fuzzy_min_score: float = 90,
) -> Classification:
    text = inquiry.text if inquiry.text else strip_quoted(inquiry.body)
    return classify_text(
        inquiry.subject,
        text,
        lexicon,
        needs_human_threshold=needs_human_threshold,
        fuzzy_min_score=fuzzy_min_score,
    )


def classify_text(
    subject: str,
    text: str,
    lexicon: Lexicon,
    *,
    needs_human_threshold: float = 0.4,
    fuzzy_min_score: float = 90,
) -> Classification:
    language = detect_language(subject, text)
    matcher = _Matcher(normalize(f"{subject}\n{text}"), fuzzy_min_score)
    hit = {table: matcher.match(lexicon.phrases(table)) for table in lexicon.tables}
    reasons: list[str] = []

    def note(table: str) -> None:
        for phrase in hit[table].phrases or []:
            reasons.append(f"{table}: {phrase}")

    about_others = hit["third_person_handler"].score + hit["abstract_question"].score
    generic_request = hit["category.disclosure_request"].score
    # A lone weak hint ("purpose") is not a request; it needs a strong phrase of its
    # own or request wording beside it.
    types = [
        t
        for t in REQUEST_TYPES
        if hit[f"request_type.{t}"].score >= _STRONG
        or (hit[f"request_type.{t}"].score >= _PRESENT and generic_request >= _PRESENT)
    ]
    if types and about_others >= _PRESENT and generic_request < 2:
        # Someone asking how requests are handled, or about a hypothetical, is not
        # making the request themselves.
        note("third_person_handler")
        note("abstract_question")
        types = []
    for t in types:
        note(f"request_type.{t}")

    complaint = hit["category.complaint"].score + hit["anger"].score
    consultation = hit["category.consultation"].score + about_others
    request = generic_request + sum(hit[f"request_type.{t}"].score for t in types)

    scores = {
        "complaint": complaint,
        "disclosure_request": request if types else 0.0,
        "consultation": consultation,
    }
    present = [c for c in CATEGORIES if scores[c] >= _PRESENT]
    if "complaint" in present:
        note("category.complaint")
        note("anger")
    if not present:
        present = ["consultation"]
    primary = present[0]  # CATEGORIES is ordered by precedence: complaint first
    if primary == "consultation":
        note("category.consultation")

    top = scores[primary]
    rival = max((s for c, s in scores.items() if c != primary), default=0.0)
    # Confidence grows with the evidence for the primary category and shrinks with the
    # strongest rival's.
    confidence = (top / (top + 1.0)) * (1.0 - rival / (top + rival + 1.0) / 2)
    deputy = hit["deputy"].score >= _PRESENT
    if deputy:
        note("deputy")

    return Classification(
        category=primary,
        categories=tuple(present),
        request_types=tuple(types),
        deputy=deputy,
        language=language,
        confidence=round(confidence, 3),
        needs_human=confidence < needs_human_threshold,
        reasons=tuple(dict.fromkeys(reasons)),
    )
