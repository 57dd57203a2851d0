"""Sorts an inquiry the way a trained clerk would: complaint, disclosure request or
consultation, with request types, the deputy flag, a confidence and the phrases that
decided it (pure).

Phrases come from the lexicon; context decides what they mean. A request type counts
only where the writer asks for it (a request sentence, or a phrase that is a request by
itself), not where they ask how requests work, speak hypothetically, or handle someone
else's request. Grievance and anger make a complaint, and a request made in anger stays
in `categories`.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

from responders.lexicon import Hit, Lexicon
from responders.models import REQUEST_TYPES, Classification, Inquiry
from responders.text import detect_language, normalize, strip_quoted

# A phrase this heavy is a request by itself ("take me off your list").
_INTRINSIC = 3.0
# Evidence needed before a complaint is considered made.
_COMPLAINT = 2.0
_SENTENCE_END = re.compile(r"[。．.!?！？\n]+")
_QUESTION_END = re.compile(r"([?？]|(か|でしょうか|ますか|ですか|のか|かな)[。．]?)\s*$")
_QUESTION_START = re.compile(
    r"^\s*(how|what|when|where|which|who|whom|why|can|could|do|does|did|is|are|was|will|"
    r"would|should|may|am|have|has)\b"
)


@dataclass
class _Sentence:
    start: int
    end: int
    question: bool
    hits: dict[str, list[tuple[Hit, float]]] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)

    def add(self, table: str, hit: Hit, weight: float) -> None:
        self.hits.setdefault(table, []).append((hit, weight))
        self.scores[table] = self.scores.get(table, 0.0) + weight

    def score(self, table: str) -> float:
        return self.scores.get(table, 0.0)

    def has(self, table: str) -> bool:
        return table in self.hits


def _sentences(doc: str) -> list[_Sentence]:
    out = []
    pos = 0
    for m in _SENTENCE_END.finditer(doc):
        end = m.end()
        text = doc[pos:end]
        if text.strip():
            question = bool(
                _QUESTION_END.search(text.strip())
                or "?" in m.group(0)
                or "？" in m.group(0)
                or _QUESTION_START.match(text)
            )
            out.append(_Sentence(pos, end, question))
        pos = end
    if doc[pos:].strip():
        text = doc[pos:]
        out.append(
            _Sentence(
                pos,
                len(doc),
                bool(_QUESTION_END.search(text.strip()) or _QUESTION_START.match(text)),
            )
        )
    return out


def _drop_greetings(doc: str, lexicon: Lexicon) -> str:
    """Remove lines that are only a greeting or a closing (お世話になっております, Regards)."""
    kept = []
    for line in doc.split("\n"):
        stripped = line.strip(" 、。,.!！")
        covered = lexicon.greeting_length(stripped)
        if covered and covered >= len(stripped) * 0.6:
            continue
        kept.append(line)
    return "\n".join(kept)


def classify(
    inquiry: Inquiry, lexicon: Lexicon, *, needs_human_threshold: float = 0.4
) -> Classification:
    text = inquiry.text if inquiry.text else strip_quoted(inquiry.body)
    return classify_text(
        inquiry.subject, text, lexicon, needs_human_threshold=needs_human_threshold
    )


def classify_text(
    subject: str, text: str, lexicon: Lexicon, *, needs_human_threshold: float = 0.4
) -> Classification:
    language = detect_language(subject, text)
    doc = lexicon.correct(_drop_greetings(normalize(f"{subject}\n{text}"), lexicon))
    hits = lexicon.find(doc)
    sentences = _sentences(doc)
    starts = [sentence.start for sentence in sentences]
    for table, table_hits in hits.items():
        for hit, weight in table_hits:
            index = bisect_right(starts, hit.start) - 1
            if index >= 0:
                sentences[index].add(table, hit, weight)

    reasons: list[str] = []

    def cite(sentence: _Sentence, table: str) -> None:
        reasons.extend(f"{table}: {h.phrase}" for h, _ in sentence.hits.get(table, ()))

    def total(table: str) -> float:
        return sum(w for _, w in hits.get(table, ()))

    handler = total("third_person_handler") >= 1.0
    type_scores = dict.fromkeys(REQUEST_TYPES, 0.0)
    complaint = consultation = 0.0
    for sentence in sentences:
        asks = sentence.has("request_marker")
        about_process = (
            sentence.has("procedure_question")
            or sentence.has("hypothetical")
            or sentence.has("abstract_question")
        )
        for t in REQUEST_TYPES:
            w = sentence.score(f"request_type.{t}")
            if not w or handler:
                continue
            if about_process and not (asks and not sentence.question):
                continue
            if (asks and w >= 1.0) or w >= _INTRINSIC or (w >= 2.0 and not sentence.question):
                type_scores[t] += w
                cite(sentence, f"request_type.{t}")
        grievance = sentence.score("category.complaint") + sentence.score("anger")
        if grievance and not about_process:
            complaint += grievance
            cite(sentence, "category.complaint")
            cite(sentence, "anger")
        consultation += sentence.score("category.consultation")
        if about_process or (sentence.question and not asks):
            consultation += 1.0

    types = tuple(t for t in REQUEST_TYPES if type_scores[t] > 0)
    request = sum(type_scores.values()) + (total("category.disclosure_request") if types else 0)
    categories = []
    if complaint >= _COMPLAINT:
        categories.append("complaint")
    if types:
        categories.append("disclosure_request")
    if not categories or consultation >= 3.0:
        categories.append("consultation")
    primary = categories[0]
    if handler:
        reasons.extend(
            f"third_person_handler: {h.phrase}" for h, _ in hits.get("third_person_handler", ())
        )

    scores = {"complaint": complaint, "disclosure_request": request, "consultation": consultation}
    top = scores[primary]
    rival = max(s for c, s in scores.items() if c != primary)
    # Evidence for the primary category, discounted by the strongest rival's.
    confidence = (top / (top + 1.0)) * (1.0 - rival / (top + rival + 1.0) / 2)
    deputy = total("deputy") >= 1.0
    if deputy:
        reasons.extend(f"deputy: {h.phrase}" for h, _ in hits.get("deputy", ()))

    return Classification(
        category=primary,
        categories=tuple(categories),
        request_types=types,
        deputy=deputy,
        language=language,
        confidence=round(confidence, 3),
        needs_human=confidence < needs_human_threshold,
        reasons=tuple(dict.fromkeys(reasons)),
    )
