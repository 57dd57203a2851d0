"""A small statistical second opinion for the classifier (pure): multinomial naive
Bayes over words, word pairs and Japanese character n-grams, learned from labelled
examples at start-up. It is consulted only where the lexicon rules are unsure.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from itertools import pairwise

from responders.text import normalize

_WORDS = re.compile(r"[a-z][a-z']+")
_JAPANESE_RUNS = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]+")


def features(text: str) -> Counter[str]:
    """Words and word pairs for Latin text, 2- and 3-grams inside Japanese runs."""
    text = normalize(text)
    found: Counter[str] = Counter()
    words = _WORDS.findall(text)
    found.update(words)
    found.update(f"{a} {b}" for a, b in pairwise(words))
    for run in _JAPANESE_RUNS.findall(text):
        for n in (2, 3):
            found.update(run[i : i + n] for i in range(len(run) - n + 1))
    return found


class NaiveBayes:
    def __init__(self, examples: Iterable[tuple[str, str]]) -> None:
        """`examples`: (text, label) pairs."""
        counts: dict[str, Counter[str]] = {}
        documents: Counter[str] = Counter()
        for text, label in examples:
            counts.setdefault(label, Counter()).update(features(text))
            documents[label] += 1
        vocabulary = {f for c in counts.values() for f in c}
        size = len(vocabulary) or 1
        total_documents = sum(documents.values())
        self.labels = tuple(sorted(counts))
        self._prior = {c: math.log(documents[c] / total_documents) for c in self.labels}
        totals = {c: sum(counts[c].values()) + size for c in self.labels}
        self._log = {
            c: {f: math.log((n + 1) / totals[c]) for f, n in counts[c].items()} for c in self.labels
        }
        self._unseen = {c: math.log(1 / totals[c]) for c in self.labels}
        self._vocabulary = vocabulary

    def __bool__(self) -> bool:
        return bool(self.labels)

    def predict(self, text: str) -> dict[str, float]:
        """Posterior probability of each label."""
        found = {f: n for f, n in features(text).items() if f in self._vocabulary}
        scores = {}
        for c in self.labels:
            log, unseen = self._log[c], self._unseen[c]
            scores[c] = self._prior[c] + sum(n * log.get(f, unseen) for f, n in found.items())
        top = max(scores.values())
        z = sum(math.exp(s - top) for s in scores.values())
        return {c: math.exp(s - top) / z for c, s in scores.items()}


class SecondOpinion:
    """The category model plus one yes/no model per request type, learned from
    (text, category, request types) examples."""

    def __init__(self, examples: Iterable[tuple[str, str, tuple[str, ...]]]) -> None:
        examples = list(examples)
        self.category = NaiveBayes((text, category) for text, category, _ in examples)
        requests = [(text, types) for text, _, types in examples if types]
        names = sorted({t for _, types in requests for t in types})
        self.types = {
            t: NaiveBayes((text, "yes" if t in types else "no") for text, types in requests)
            for t in names
        }

    def __bool__(self) -> bool:
        return bool(self.category)

    def predict(self, text: str) -> dict[str, float]:
        return self.category.predict(text)

    def likely_type(self, text: str) -> str | None:
        """The request type the writer most probably means."""
        odds = {t: m.predict(text).get("yes", 0.0) for t, m in self.types.items()}
        return max(odds, key=odds.get) if odds else None
