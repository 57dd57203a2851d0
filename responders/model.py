"""A small statistical second opinion for the classifier (pure): a multinomial logistic
regression over words, word pairs and Japanese character pairs, learned from labelled
examples at start-up (or read back as an earlier start stored it). Its answer is blended
with the lexicon rules' (responders/classify).

Logistic regression rather than naive Bayes: the features overlap heavily (a word pair
repeats its two words, neighbouring character pairs share a character), which naive Bayes
counts as independent evidence; on the development corpora, training on one part and
scoring the other, it reached macro-F1 0.86 against naive Bayes' 0.80.
"""

from __future__ import annotations

import functools
import json
import math
import random
import re
import struct
import sys
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import chain, pairwise
from typing import NamedTuple

from responders.text import normalize

_WORDS = re.compile(r"[a-z][a-z']+")
_JAPANESE_RUNS = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]+")
# Pictographs say much in a short chat message (an eye-roll, an angry face).
_EMOJI = re.compile(r"[\u2600-\u27bf\U0001f300-\U0001faff]")
# Training: passes over the examples, the first step size (it shrinks each pass), and the
# L2 decay that keeps rare features from deciding alone. Seeded, so that the same examples
# always give the same model.
_EPOCHS = 20
_STEP = 1.0
_DECAY = 1e-3
_SEED = 20261124
# An example whose error is below this teaches nothing more; it is skipped (speed).
_SETTLED = 0.01
# Features seen in fewer examples than this are not learned, once there are _PLENTY
# examples to learn from.
_RARE = 2
_PLENTY = 200
# Texts with fewer features than this count for less (see _scale and predict).
_FULL_VOICE = 30


def features(text: str) -> frozenset[str]:
    """Words and word pairs for Latin text, character pairs inside Japanese runs, and
    pictographs. Present or not: how often a feature recurs is not counted."""
    text = normalize(text)
    words = _WORDS.findall(text)
    found = set(words)
    found.update(f"{a} {b}" for a, b in pairwise(words))
    # Character pairs only: with 3-grams as well the models learned no better (macro-F1
    # 0.928 against 0.930, leave-one-part-out) and read and learned more slowly.
    for run in _JAPANESE_RUNS.findall(text):
        found.update(run[i : i + 2] for i in range(len(run) - 1))
    found.update(_EMOJI.findall(text))
    return frozenset(found)


def learnable(text: str) -> tuple[str, ...]:
    """A text's features in a fixed order: a set's order follows string hashing, which
    differs from process to process, and learning must not (see _SEED)."""
    return tuple(sorted(features(text)))


class LogisticRegression:
    def __init__(self, examples: Iterable[tuple[str, str]]) -> None:
        """`examples`: (text, label) pairs; learned by stochastic gradient descent."""
        self._learn([(learnable(text), label) for text, label in examples])

    @classmethod
    def from_features(cls, examples: Iterable[tuple[tuple[str, ...], str]]) -> LogisticRegression:
        """As the constructor, from texts' features as `learnable` gives them: several
        models learning from the same texts extract their features once."""
        model = cls.__new__(cls)
        model._learn(list(examples))
        return model

    def _learn(self, texts: list[tuple[tuple[str, ...], str]]) -> None:
        # A feature seen in a single example says more about that message than about its
        # kind: leaving it out makes learning faster and the table smaller.
        seen = Counter(f for present, _ in texts for f in present)
        rare = _RARE if len(texts) >= _PLENTY else 1
        index: dict[str, int] = {}
        data = []
        for present, label in texts:
            ids = tuple(index.setdefault(f, len(index)) for f in present if seen[f] >= rare)
            data.append((ids, _scale(len(present)), label))
        self.labels = tuple(sorted({label for _, _, label in data}))
        self._bias = dict.fromkeys(self.labels, 0.0)
        # Feature -> its weight for each label, in label order: one look-up per feature.
        self._table: dict[str, tuple[float, ...]] = {}
        if len(self.labels) < 2:
            return
        # Lists indexed by feature number while learning: several times faster than dicts.
        # A yes/no model learns one vector, the first label's scores fixed at zero (plain
        # logistic regression, twice as fast). Three or more labels keep a vector each:
        # a fixed reference would be favoured by the decay.
        weights = {c: [0.0] * len(index) for c in self.labels}
        order = random.Random(_SEED)
        if len(self.labels) == 2:
            yes = self.labels[1]
            self._learn_yes_no(data, weights[yes], yes, order)
        else:
            self._learn_many(data, weights, order)
        columns = [weights[c] for c in self.labels]
        for f, i in index.items():
            row = tuple(column[i] for column in columns)
            if any(row):
                self._table[f] = row

    def _learn_many(
        self,
        data: list[tuple[tuple[int, ...], float, str]],
        weights: dict[str, list[float]],
        order: random.Random,
    ) -> None:
        for step, keep in _passes(data, order):
            for ids, value, label in data:
                scores = {
                    c: self._bias[c] + value * sum(map(weights[c].__getitem__, ids))
                    for c in self.labels
                }
                for c, odds in _softmax(scores).items():
                    gradient = odds - (1.0 if c == label else 0.0)
                    if -_SETTLED < gradient < _SETTLED:
                        continue  # learned already: most examples, after a few passes
                    w, delta = weights[c], step * gradient * value
                    for i in ids:
                        w[i] = w[i] * keep - delta
                    self._bias[c] -= step * gradient

    def _learn_yes_no(
        self,
        data: list[tuple[tuple[int, ...], float, str]],
        w: list[float],
        yes: str,
        order: random.Random,
    ) -> None:
        """As _learn_many for two labels, the other's score fixed at zero: the softmax of
        two scores is then the logistic function of one (the same model, learned faster)."""
        bias = 0.0
        for step, keep in _passes(data, order):
            for ids, value, label in data:
                score = bias + value * sum(map(w.__getitem__, ids))
                odds = 1.0 / (1.0 + math.exp(-score)) if score > -500 else 0.0
                gradient = odds - (1.0 if label == yes else 0.0)
                if -_SETTLED < gradient < _SETTLED:
                    continue
                delta = step * gradient * value
                for i in ids:
                    w[i] = w[i] * keep - delta
                bias -= step * gradient
        self._bias[yes] = bias

    def __bool__(self) -> bool:
        return bool(self.labels)

    def predict(self, text: str) -> dict[str, float]:
        """Probability of each label, drawn toward "no idea" for a text of a few words."""
        return _heard(*self.weigh(text))

    def weigh(self, text: str) -> tuple[dict[str, float], float]:
        """Probability of each label, and how much the text says (0..1): a text of a few
        words is mostly the learned prior speaking."""
        present = _present(text)
        table = self._table
        rows = [table[f] for f in present if f in table]
        return self.odds(_totals(rows, len(self.labels)), len(present)), _voice(len(rows))

    def odds(self, totals: list[float], present: int) -> dict[str, float]:
        """Probability of each label, from the summed weights of the features a text of
        `present` features holds."""
        return _odds(self.head, totals, present)

    @property
    def head(self) -> _Head:
        """Its labels and their biases, as SecondOpinion keeps each model."""
        return _Head(self.labels, tuple(self._bias[c] for c in self.labels))


def _passes(data: list, order: random.Random) -> Iterator[tuple[float, float]]:
    """Each pass over the examples, shuffled anew: its step size (shrinking each pass) and
    the share of a touched weight the decay keeps."""
    for epoch in range(_EPOCHS):
        order.shuffle(data)
        step = _STEP / (1 + 0.3 * epoch)
        yield step, 1 - step * _DECAY


def _totals(rows: list[tuple[float, ...]], width: int) -> list[float]:
    return [sum(column) for column in zip(*rows, strict=True)] if rows else [0.0] * width


def _voice(known: int) -> float:
    return min(1.0, known / _FULL_VOICE)


def _heard(odds: dict[str, float], voice: float) -> dict[str, float]:
    """`odds` drawn toward "no idea" by as much as the text falls short of a full voice."""
    even = 1 / len(odds)
    return {c: even + (p - even) * voice for c, p in odds.items()}


@functools.lru_cache(maxsize=16)
def _present(text: str) -> frozenset[str]:
    # The category, deputy and request-type models all read the same message in turn.
    return features(text)


def _scale(count: int) -> float:
    """The value of each present feature: unit length for a text of some size, less for a
    text too short to say much, so that one word does not speak with a letter's voice."""
    return 1.0 / math.sqrt(max(count, _FULL_VOICE))


def _softmax(scores: dict[str, float]) -> dict[str, float]:
    top = max(scores.values())
    exp = {c: math.exp(s - top) for c, s in scores.items()}
    z = sum(exp.values())
    return {c: e / z for c, e in exp.items()}


class Example(NamedTuple):
    """One labelled message, as the models learn from it."""

    text: str
    category: str
    request_types: tuple[str, ...]
    deputy: bool


class Opinion(NamedTuple):
    """What the models make of one text."""

    # Probability of each category, and how much the text says (0..1).
    category: dict[str, float]
    voice: float
    # How likely the writer acts for someone else.
    deputy: float
    # How likely the writer asks for each request type, given that they ask.
    types: dict[str, float]
    # How likely a complaint also asks for something (a request type), rather than only
    # voicing the grievance.
    asks: float


class _Head(NamedTuple):
    """One model's part of SecondOpinion: its labels and, in the same order, their biases.
    Its weights are columns of SecondOpinion's shared table."""

    labels: tuple[str, ...]
    bias: tuple[float, ...]


class SecondOpinion:
    """The category model, one yes/no model per request type, a deputy model and a model of
    whether a complaint also asks for something, learned from labelled examples."""

    def __init__(self, examples: Iterable[Example]) -> None:
        read = [(learnable(e.text), e) for e in examples]
        learn = LogisticRegression.from_features
        category = learn((f, e.category) for f, e in read)
        requests = [(f, e) for f, e in read if e.request_types]
        names = sorted({t for _, e in requests for t in e.request_types})
        types = {
            t: learn((f, "yes" if t in e.request_types else "no") for f, e in requests)
            for t in names
        }
        deputy = learn((f, "yes" if e.deputy else "no") for f, e in read)
        asks = learn(
            (f, "yes" if e.request_types else "no") for f, e in read if e.category == "complaint"
        )
        # One table for all the models, so that a text's features are looked up once
        # rather than once per model (reading a message is 3-4 times faster): each
        # feature's weights for every model side by side, zeros where a model lacks it.
        # A yes/no model's first column is its fixed reference, all zeros: left out.
        models = [category, deputy, asks, *types.values()]
        skip = [_reference(m.labels) for m in models]
        zeros = [(0.0,) * len(m.labels) for m in models]
        table = {
            f: sum(
                (m._table.get(f, z)[s:] for m, z, s in zip(models, zeros, skip, strict=True)),
                (),
            )
            for f in set().union(*(m._table for m in models))
        }
        self._settle([m.head for m in models], tuple(types), table)

    def _settle(
        self, heads: list[_Head], type_names: tuple[str, ...], table: dict[str, tuple[float, ...]]
    ) -> None:
        self._heads = heads
        self._type_names = type_names
        self._table = table
        self._skip = [_reference(h.labels) for h in heads]
        self._width = sum(len(h.labels) - s for h, s in zip(heads, self._skip, strict=True))

    def __bool__(self) -> bool:
        return bool(self._heads[0].labels)

    def read(self, text: str) -> Opinion:
        present = _present(text)
        table = self._table
        rows = [row for row in map(table.get, present) if row]
        totals = _totals(rows, self._width)
        # Every model learned from a part of the same texts: the category model knows
        # every feature any of them knows, and its voice stands for all.
        voice = _voice(len(rows))
        found = []
        start = 0
        for head, skip in zip(self._heads, self._skip, strict=True):
            end = start + len(head.labels) - skip
            found.append(_odds(head, [0.0] * skip + totals[start:end], len(present)))
            start = end
        category, deputy, asks, *types = found
        return Opinion(
            category=category,
            voice=voice,
            deputy=_heard(deputy, voice).get("yes", 0.0),
            # Learned from no complaints, or from complaints all alike: no opinion.
            asks=_heard(asks, voice).get("yes", 0.0) if len(self._heads[2].labels) == 2 else 0.5,
            types={
                t: _heard(o, voice).get("yes", 0.0)
                for t, o in zip(self._type_names, types, strict=True)
            },
        )

    def to_bytes(self) -> bytes:
        """The learned model, for `from_bytes` to restore: plain data (JSON, feature names
        and raw doubles), so that reading it back runs no code."""
        names = list(self._table)
        header = json.dumps(
            {
                "heads": [[list(h.labels), list(h.bias)] for h in self._heads],
                "types": list(self._type_names),
                "features": len(names),
            },
            ensure_ascii=False,
        ).encode()
        keys = "\n".join(names).encode()
        weights = array("d", chain.from_iterable(map(self._table.__getitem__, names)))
        if sys.byteorder == "big":
            weights.byteswap()
        sizes = struct.pack("<QQ", len(header), len(keys))
        return _MAGIC + sizes + header + keys + weights.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> SecondOpinion:
        """A model `to_bytes` wrote; ValueError for anything else (a truncated or foreign
        file), so that the caller can learn anew instead."""
        if not data.startswith(_MAGIC):
            raise ValueError("not a model written by this version")
        at = len(_MAGIC)
        try:
            header_size, keys_size = struct.unpack_from("<QQ", data, at)
            at += 16
            header = json.loads(data[at : at + header_size])
            at += header_size
            keys = data[at : at + keys_size].decode()
            at += keys_size
            heads = [
                _Head(tuple(map(str, labels)), tuple(map(float, bias)))
                for labels, bias in header["heads"]
            ]
            type_names = tuple(map(str, header["types"]))
            count = int(header["features"])
        except (struct.error, UnicodeDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"model damaged: {exc!r}") from exc
        names = keys.split("\n") if count else []
        width = sum(len(h.labels) - _reference(h.labels) for h in heads)
        if (
            len(heads) != 3 + len(type_names)
            or any(len(h.labels) != len(h.bias) for h in heads)
            or len(names) != count
            or len(data) - at != 8 * width * count
        ):
            raise ValueError("model damaged: its parts do not fit together")
        weights = array("d")
        weights.frombytes(data[at:])
        if sys.byteorder == "big":
            weights.byteswap()
        rows = (tuple(weights[i : i + width]) for i in range(0, width * count, width))
        model = cls.__new__(cls)
        model._settle(heads, type_names, dict(zip(names, rows, strict=True)))
        return model


# The first bytes of a stored model; a change to the format changes them.
_MAGIC = b"inquiry-desk second opinion 1\n"


def _reference(labels: tuple[str, ...]) -> int:
    """1 when a yes/no model's first label is its fixed reference (see _learn), else 0."""
    return 1 if len(labels) == 2 else 0


def _odds(head: _Head, totals: list[float], present: int) -> dict[str, float]:
    """Probability of each label, from the summed weights of the features a text of
    `present` features holds."""
    if len(head.labels) < 2:
        return dict.fromkeys(head.labels, 1.0)
    # Unit length over what the text contains, as in learning.
    value = _scale(present)
    labelled = enumerate(zip(head.labels, head.bias, strict=True))
    return _softmax({c: b + value * totals[k] for k, (c, b) in labelled})
