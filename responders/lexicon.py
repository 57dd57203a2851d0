"""Weighted phrase lists that the classifier matches, built from plain mappings (the bot
reads them from config/lexicon/*.toml) so this module never touches a file."""

from __future__ import annotations

from dataclasses import dataclass, field

from responders.text import normalize

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
)


@dataclass(frozen=True)
class Phrase:
    text: str  # normalized
    weight: float
    words: int  # number of space-separated words; 0 for unspaced (Japanese) text


@dataclass
class Lexicon:
    tables: dict[str, list[Phrase]] = field(default_factory=dict)

    def phrases(self, table: str) -> list[Phrase]:
        return self.tables.get(table, [])


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


def build_lexicon(*sources: dict) -> Lexicon:
    """Merge lexicon mappings (one per language) into one Lexicon.

    Raises ValueError naming the table or phrase that is wrong.
    """
    lexicon = Lexicon({t: [] for t in TABLES})
    for source in sources:
        for table, entries in _flatten(source).items():
            if table not in lexicon.tables:
                raise ValueError(f"unknown lexicon table [{table}]")
            for phrase, weight in entries.items():
                if not isinstance(weight, int | float) or isinstance(weight, bool):
                    raise ValueError(f"lexicon [{table}] {phrase!r}: weight must be a number")
                text = normalize(phrase).strip()
                if text:
                    words = len(text.split()) if text.isascii() else 0
                    lexicon.tables[table].append(Phrase(text, float(weight), words))
    return lexicon
