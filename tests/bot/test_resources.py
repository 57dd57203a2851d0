"""The learned model is stored between starts: read back when it fits the examples, learned
anew when it does not or cannot be read, and never a reason for the service to fail. The
spelling dictionary keeps real words from typo correction."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.resources import _second_opinion, load_lexicon
from responders.model import Example, SecondOpinion

ROWS = [
    ("Leaked", "your staff read my address out loud in the shop, very upset", "complaint"),
    ("Copy", "please send me a copy of all the data you hold about me", "disclosure_request"),
    ("削除", "私の個人情報を削除してください", "disclosure_request"),
    ("Fee", "how much is the fee for a disclosure request?", "consultation"),
    ("手数料", "開示請求の手数料はいくらですか", "consultation"),
]
PROBE = "Please send me a copy of my data"


@pytest.fixture(autouse=True)
def fresh_process():
    # Each test starts as a new process would: nothing learned in memory.
    _second_opinion.cache_clear()
    yield
    _second_opinion.cache_clear()


def write_examples(path: Path, rows=ROWS) -> Path:
    lines = [
        json.dumps(
            {
                "subject": subject,
                "body": body,
                "category": category,
                "request_types": ["disclosure"] if category == "disclosure_request" else [],
            },
            ensure_ascii=False,
        )
        for subject, body, category in rows
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def lexicon(examples: Path, cache: Path | str):
    overrides = {"classifier": {"examples": [str(examples)], "model_cache_dir": str(cache)}}
    return load_lexicon(load_config(env={}, overrides=overrides))


def stored(cache: Path) -> list[Path]:
    return sorted(cache.glob("model-*.bin"))


def test_a_restart_reads_the_stored_model_instead_of_learning(tmp_path, caplog):
    examples, cache = write_examples(tmp_path / "ex.jsonl"), tmp_path / "cache"
    caplog.set_level(logging.INFO, logger="bot.resources")
    first = lexicon(examples, cache).model
    assert len(stored(cache)) == 1 and "learned from 5 examples" in caplog.text
    # Put a different model in its place: answers must now come from the file.
    other = SecondOpinion([Example("anything at all", "consultation", (), True)] * 2)
    stored(cache)[0].write_bytes(other.to_bytes())
    _second_opinion.cache_clear()
    caplog.clear()
    again = lexicon(examples, cache).model
    assert "model read from" in caplog.text and "learned" not in caplog.text
    assert again.read(PROBE) == other.read(PROBE) != first.read(PROBE)


def test_the_stored_model_answers_as_the_learned_one(tmp_path):
    examples, cache = write_examples(tmp_path / "ex.jsonl"), tmp_path / "cache"
    learned = lexicon(examples, cache).model
    _second_opinion.cache_clear()
    restored = lexicon(examples, cache).model
    assert restored is not learned
    for _, body, _ in [*ROWS, ("", "what do you have on me? 😡", "")]:
        assert restored.read(body) == learned.read(body)


def test_other_examples_are_learned_anew_and_stored_beside(tmp_path, caplog):
    cache = tmp_path / "cache"
    lexicon(write_examples(tmp_path / "ex.jsonl"), cache)
    changed = write_examples(tmp_path / "ex2.jsonl", ROWS[:-1])
    caplog.set_level(logging.INFO, logger="bot.resources")
    lexicon(changed, cache)
    assert "learned from 4 examples" in caplog.text
    assert len(stored(cache)) == 2


def test_a_damaged_model_is_learned_again_and_replaced(tmp_path, caplog):
    examples, cache = write_examples(tmp_path / "ex.jsonl"), tmp_path / "cache"
    good = lexicon(examples, cache).model
    path = stored(cache)[0]
    path.write_bytes(path.read_bytes()[:-100])
    _second_opinion.cache_clear()
    with caplog.at_level(logging.WARNING, logger="bot.resources"):
        model = lexicon(examples, cache).model
    assert "unusable" in caplog.text
    assert model.read(PROBE) == good.read(PROBE)
    assert SecondOpinion.from_bytes(path.read_bytes()).read(PROBE) == good.read(PROBE)


def test_a_cache_that_cannot_be_written_only_costs_time(tmp_path, caplog):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    with caplog.at_level(logging.WARNING, logger="bot.resources"):
        model = lexicon(write_examples(tmp_path / "ex.jsonl"), blocker / "cache").model
    assert "cannot store the model" in caplog.text
    assert model.read(PROBE).category["disclosure_request"] > 1 / 3


def test_no_cache_directory_means_learning_at_every_start(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="bot.resources")
    lexicon(write_examples(tmp_path / "ex.jsonl"), "")
    assert "learned from 5 examples" in caplog.text
    assert not list(tmp_path.glob("**/model-*.bin"))


def test_only_the_newest_few_models_are_kept(tmp_path):
    cache = tmp_path / "cache"
    for n in range(1, 5):
        _second_opinion.cache_clear()
        known = set(stored(cache))
        lexicon(write_examples(tmp_path / f"ex{n}.jsonl", ROWS[:n]), cache)
        for path in set(stored(cache)) - known:  # distinct ages, oldest first
            os.utime(path, (1_000_000 * n, 1_000_000 * n))
    oldest = min(stored(cache), key=lambda p: p.stat().st_mtime)
    _second_opinion.cache_clear()
    lexicon(write_examples(tmp_path / "ex5.jsonl", ROWS), cache)
    assert len(stored(cache)) == 4 and oldest not in stored(cache)


def spelling(language: str):
    overrides = {"classifier": {"examples": [], "spelling_dictionary": language}}
    return load_lexicon(load_config(env={}, overrides=overrides))


def test_words_of_the_spelling_dictionary_are_not_corrected():
    # "unanswered" is a word; "acess" is a typo of the lexicon's "access".
    text = "my request is unanswered; i want to acess my data"
    assert spelling("en").correct(text) == "my request is unanswered; i want to access my data"
    assert spelling("").correct(text) == "my request is answered; i want to access my data"


def test_an_unknown_spelling_dictionary_is_a_config_error():
    with pytest.raises(ConfigError, match="spelling_dictionary"):
        spelling("xx")
