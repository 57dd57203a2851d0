"""Reads the vocabulary and reply material named in the config: lexicons, forms, policy
topics and templates. Any problem becomes a ConfigError naming the file."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path

from bot.config import CONFIG_DIR, PROJECT_ROOT, Config, ConfigError, read_toml
from responders.compose import ReplyKit, build_topics, make_environment
from responders.lexicon import Lexicon, build_lexicon
from responders.model import Example, SecondOpinion
from responders.models import CATEGORIES
from responders.text import strip_quoted


def load_lexicon(cfg: Config) -> Lexicon:
    directory = cfg.lexicon_dir
    sources = [read_toml(directory / f"{lang}.toml") for lang in ("en", "ja")]
    try:
        lexicon = build_lexicon(*sources, fuzzy_min_score=cfg.classifier.fuzzy_min_score)
    except ValueError as exc:
        raise ConfigError(f"lexicon in {directory}: {exc}") from exc
    examples = tuple(_examples(cfg))
    lexicon.model = _second_opinion(examples) if examples else None
    return lexicon


@functools.lru_cache(maxsize=2)
def _second_opinion(examples: tuple[Example, ...]) -> SecondOpinion:
    # Learning takes a few seconds; a process that builds several services (the tests, a
    # CLI command beside the service) learns from the same examples once.
    return SecondOpinion(examples)


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
