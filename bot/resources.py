"""Reads the vocabulary and reply material named in the config: lexicons, forms, policy
topics and templates. Any problem becomes a ConfigError naming the file."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import sys
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from spellchecker import SpellChecker

import responders.model
import responders.text
from bot.config import CONFIG_DIR, PROJECT_ROOT, Config, ConfigError, read_toml
from responders.compose import ReplyKit, build_topics, make_environment
from responders.lexicon import Lexicon, build_lexicon, words_of
from responders.model import Example, SecondOpinion
from responders.models import CATEGORIES
from responders.text import strip_quoted

log = logging.getLogger(__name__)
# Stored models kept in the cache directory, newest first: room for a few configurations
# in use side by side (the service and a test run, say) without relearning in turn.
_KEEP_MODELS = 4


def load_lexicon(cfg: Config) -> Lexicon:
    directory = cfg.lexicon_dir
    sources = [read_toml(directory / f"{lang}.toml") for lang in ("en", "ja")]
    try:
        lexicon = build_lexicon(
            *sources,
            fuzzy_min_score=cfg.classifier.fuzzy_min_score,
            real_words=_dictionary_words(cfg.classifier.spelling_dictionary),
        )
    except ValueError as exc:
        raise ConfigError(f"lexicon in {directory}: {exc}") from exc
    examples = tuple(_examples(cfg))
    lexicon.model = _second_opinion(examples, cfg.model_cache_dir) if examples else None
    started = time.perf_counter()
    lexicon.prepare(_example_words(examples))
    log.info("classifier: typo corrections prepared in %.1f s", time.perf_counter() - started)
    return lexicon


@functools.lru_cache(maxsize=2)
def _dictionary_words(language: str) -> frozenset[str]:
    """The words of pyspellchecker's dictionary for `language` ("" = none)."""
    if not language:
        return frozenset()
    try:
        checker = SpellChecker(language=language)
    except ValueError as exc:
        raise ConfigError(f"config key classifier.spelling_dictionary: {exc}") from exc
    return frozenset(checker.word_frequency.dictionary)


@functools.lru_cache(maxsize=2)
def _example_words(examples: tuple[Example, ...]) -> frozenset[str]:
    # Read once per process, like the model: each service or command built reuses them.
    return words_of(e.text for e in examples)


@functools.lru_cache(maxsize=2)
def _second_opinion(examples: tuple[Example, ...], cache_dir: Path | None) -> SecondOpinion:
    # Learning takes seconds: a process that builds several services (the tests, a CLI
    # command beside the service) learns from the same examples once, and a restart reads
    # the model stored by the start before.
    if cache_dir is None:
        return _learn(examples)
    path = cache_dir / f"model-{_fingerprint(examples)}.bin"
    try:
        model = SecondOpinion.from_bytes(path.read_bytes())
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        log.warning("classifier: stored model %s unusable (%s); learning anew", path, exc)
    else:
        log.info("classifier: model read from %s", path)
        with contextlib.suppress(OSError):
            os.utime(path)  # in use: the last to be pruned
        return model
    model = _learn(examples)
    _store(model, path)
    return model


def _learn(examples: tuple[Example, ...]) -> SecondOpinion:
    started = time.perf_counter()
    model = SecondOpinion(examples)
    took = time.perf_counter() - started
    log.info("classifier: learned from %d examples in %.1f s", len(examples), took)
    return model


def _fingerprint(examples: tuple[Example, ...]) -> str:
    """What a stored model must have been learned from to be used: the same examples, by
    the same learning and text-normalising code, on the same Unicode tables."""
    digest = hashlib.sha256()
    for module in (responders.model, responders.text):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(f"{sys.version_info[:2]} {unicodedata.unidata_version}".encode())
    for example in examples:
        digest.update(json.dumps(example, ensure_ascii=False).encode())
    return digest.hexdigest()[:32]


def _store(model: SecondOpinion, path: Path) -> None:
    """Write the model whole or not at all (a reader never sees half a file); a cache
    that cannot be written costs the next start its time, nothing else."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".model-", delete=False) as out:
            temporary = Path(out.name)
            out.write(model.to_bytes())
        os.replace(temporary, path)
        temporary = None
    except OSError as exc:
        log.warning("classifier: cannot store the model in %s (%s)", path.parent, exc)
        return
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # another process may be pruning too
        stored = sorted(path.parent.glob("model-*.bin"), key=lambda p: p.stat().st_mtime)
        for stale in stored[:-_KEEP_MODELS]:
            stale.unlink(missing_ok=True)


def _examples(cfg: Config) -> Iterator[Example]:
    """The labelled examples in the files the config names."""
    for name in cfg.classifier.examples:
        path = Path(name) if Path(name).is_absolute() else PROJECT_ROOT / name
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(f"config key classifier.examples: cannot read {path}") from exc
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text = f"{row.get('subject', '')}\n{strip_quoted(row['body'])}"
                category = row["category"]
                types = tuple(row.get("request_types", ()))
                deputy = bool(row.get("deputy", False))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ConfigError(f"{path}:{number}: not a labelled example ({exc})") from exc
            if category not in CATEGORIES:
                raise ConfigError(f"{path}:{number}: unknown category {category!r}")
            yield Example(text, category, types, deputy)


def load_reply_kit(cfg: Config) -> ReplyKit:
    forms = read_toml(CONFIG_DIR / "forms.toml")
    knowledge = read_toml(cfg.knowledge_file)
    templates = cfg.templates_dir
    if not (templates / "email").is_dir():
        raise ConfigError(f"config key replies.templates_dir: no email/ under {templates}")
    try:
        topics = build_topics(knowledge.get("topic", []))
    except KeyError as exc:
        raise ConfigError(f"{cfg.knowledge_file}: a [[topic]] lacks {exc}") from exc
    needed = [
        f"{name}.txt.j2"
        for name in (*CATEGORIES, "acknowledgement", "followup", "subject_fallback")
    ]
    needed += [f"topics/{topic.id}.txt.j2" for topic in topics]
    for language in ("en", "ja"):
        for name in needed:
            if not (templates / "email" / language / name).is_file():
                raise ConfigError(f"template missing: {templates}/email/{language}/{name}")
    return ReplyKit(
        env=make_environment(str(templates)),
        forms_by_type={k: tuple(v) for k, v in forms.get("request_type", {}).items()},
        deputy_forms=tuple(forms.get("deputy", {}).get("forms", [])),
        topics=topics,
        max_topics=cfg.replies.max_topics,
    )
