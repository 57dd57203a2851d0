"""The statistical second opinion: learns labels from examples, in both languages."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from responders.model import Example, LogisticRegression, SecondOpinion, features

EXAMPLES = [
    ("your staff read my address out loud in the shop, very upset", "complaint"),
    ("someone else's invoice was in my parcel, careless", "complaint"),
    ("店員が私の電話番号を大声で読み上げた。不快です", "complaint"),
    ("please send me a copy of all the data you hold about me", "disclosure_request"),
    ("delete my account and all data please", "disclosure_request"),
    ("私の個人情報を削除してください", "disclosure_request"),
    ("how much is the fee for a disclosure request?", "consultation"),
    ("do you share data with partner companies under joint use?", "consultation"),
    ("開示請求の手数料はいくらですか", "consultation"),
]


def test_features_cover_words_pairs_and_japanese_ngrams():
    found = features("Delete my data. 削除して")
    assert {"delete", "delete my", "削除", "除し", "して"} <= found
    assert "my data 削除" not in found
    assert "😡" in features("stop it 😡")


def test_learns_the_examples_labels():
    model = LogisticRegression(EXAMPLES)
    assert set(model.labels) == {"complaint", "disclosure_request", "consultation"}
    for text, label in EXAMPLES:
        odds = model.predict(text)
        assert max(odds, key=odds.get) == label
        assert abs(sum(odds.values()) - 1) < 1e-9


def test_generalises_to_a_close_variant():
    model = LogisticRegression(EXAMPLES)
    odds = model.predict("what is the fee for joint use questions?")
    assert max(odds, key=odds.get) == "consultation"


def test_no_examples_means_no_model():
    assert not LogisticRegression([])


def test_no_complaints_to_learn_from_means_no_opinion_on_asking():
    examples = [
        Example(text, label, ("disclosure",) if label == "disclosure_request" else (), False)
        for text, label in EXAMPLES
        if label != "complaint"
    ]
    opinion = SecondOpinion(examples).read("You leaked my address. Delete it now!")
    assert opinion.asks == 0.5
    assert set(opinion.category) == {"disclosure_request", "consultation"}


def test_the_same_examples_give_the_same_model_in_every_process():
    # Features are sets, whose order follows string hashing, which differs by process.
    script = (
        "from tests.responders.test_model import EXAMPLES\n"
        "from responders.model import LogisticRegression\n"
        "print(sorted(LogisticRegression(EXAMPLES)._table.items()))\n"
    )
    tables = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(tables) == 1 and tables != {""}


def test_a_model_written_out_and_read_back_answers_the_same():
    examples = [
        Example(
            text, label, ("disclosure",) if label == "disclosure_request" else (), "弁護士" in text
        )
        for text, label in [
            *EXAMPLES,
            ("弁護士として依頼者の開示を請求します", "disclosure_request"),
        ]
    ]
    model = SecondOpinion(examples)
    restored = SecondOpinion.from_bytes(model.to_bytes())
    for text in [t for t, _ in EXAMPLES] + ["弁護士です 😡", "nothing known here"]:
        assert restored.read(text) == model.read(text)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-8],  # cut short
        lambda data: data + b"\0" * 8,  # too long
        lambda data: b"not a model at all",
        lambda data: data[:40],  # header cut
        lambda data: data.replace(b'"heads"', b'"heady"', 1),
    ],
)
def test_anything_but_a_whole_model_is_refused(damage):
    data = SecondOpinion([Example(t, c, (), False) for t, c in EXAMPLES]).to_bytes()
    with pytest.raises(ValueError):
        SecondOpinion.from_bytes(damage(data))
