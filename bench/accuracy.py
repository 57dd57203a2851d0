"""Classifier accuracy on the labelled corpus, against a naive keyword baseline.

    uv run python bench/accuracy.py [--part dev|heldout|both]

Prints, per part: per-class precision/recall/F1 and macro-F1, the confusion matrix,
request-type exact match, deputy accuracy, and messages per second on one core.
Tune only on dev; heldout is for reporting.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bot.config import load_config
from bot.resources import load_lexicon
from responders.classify import classify_text
from responders.models import CATEGORIES, REQUEST_TYPES
from responders.text import strip_quoted

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "corpus"

# The floor: the first keyword that appears decides.
_BASELINE = {
    "complaint": ["complain", "苦情", "unacceptable", "leak", "漏え", "漏洩", "許せ"],
    "disclosure_request": [
        "disclos",
        "開示",
        "delete",
        "削除",
        "correct",
        "訂正",
        "stop",
        "停止",
        "purpose",
        "利用目的",
        "third part",
        "第三者",
    ],
}
_BASELINE_TYPES = {
    "disclosure": ["disclos", "copy", "開示"],
    "purpose_notification": ["purpose", "利用目的"],
    "revision": ["correct", "訂正", "update", "変更"],
    "usage_withholding": ["delete", "削除", "unsubscribe", "停止", "消去"],
    "third_party_halt": ["stop sharing", "第三者提供の停止", "stop providing"],
    "third_party_records": ["record", "記録"],
}


def baseline(subject: str, body: str) -> dict:
    text = f"{subject}\n{body}".lower()
    category = next(
        (c for c, words in _BASELINE.items() if any(w in text for w in words)), "consultation"
    )
    types = [t for t, words in _BASELINE_TYPES.items() if any(w in text for w in words)]
    deputy = any(w in text for w in ("behalf", "代理", "attorney", "弁護士", "guardian", "後見"))
    return {
        "category": category,
        "request_types": types if category != "consultation" else [],
        "deputy": deputy,
    }


def load(part: str) -> list[dict]:
    """ "heldout", or "dev": every development file (dev.jsonl, dev2.jsonl, dev3-en.jsonl...)."""
    rows = []
    for path in sorted(CORPUS.glob("dev*.jsonl" if part == "dev" else f"{part}.jsonl")):
        with path.open(encoding="utf-8") as fh:
            rows.extend(json.loads(line) for line in fh if line.strip())
    return rows


def evaluate(rows: list[dict], predict: Callable[[str, str], dict]) -> dict:
    start = time.perf_counter()
    predictions = [predict(r["subject"], r["body"]) for r in rows]
    first = time.perf_counter() - start
    # A running service has seen most words before (the typo-correction cache is warm).
    # Best of three passes: the least disturbed by whatever else the machine runs.
    elapsed = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for r in rows:
            predict(r["subject"], r["body"])
        elapsed = min(elapsed, time.perf_counter() - start)
    confusion: Counter = Counter()
    types_ok = deputy_ok = 0
    for row, got in zip(rows, predictions, strict=True):
        confusion[(row["category"], got["category"])] += 1
        types_ok += sorted(got["request_types"]) == sorted(row["request_types"])
        deputy_ok += got["deputy"] == row["deputy"]
    per_class = {}
    for c in CATEGORIES:
        tp = confusion[(c, c)]
        predicted = sum(n for (_, g), n in confusion.items() if g == c)
        actual = sum(n for (w, _), n in confusion.items() if w == c)
        p = tp / predicted if predicted else 0.0
        r = tp / actual if actual else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        per_class[c] = (p, r, f, actual)
    return {
        "n": len(rows),
        "per_class": per_class,
        "macro_f1": sum(v[2] for v in per_class.values()) / len(CATEGORIES),
        "confusion": confusion,
        "types": types_ok / len(rows),
        "deputy": deputy_ok / len(rows),
        "rate": len(rows) / elapsed if elapsed else float("inf"),
        "first_rate": len(rows) / first if first else float("inf"),
    }


def report(name: str, result: dict) -> None:
    print(
        f"  {name}: macro-F1 {result['macro_f1']:.3f}, request types exact "
        f"{result['types']:.3f}, deputy {result['deputy']:.3f}, "
        f"{result['rate']:,.0f} msg/s warm ({result['first_rate']:,.0f} first pass)"
    )
    for c, (p, r, f, n) in result["per_class"].items():
        print(f"    {c:<19} P {p:.3f}  R {r:.3f}  F1 {f:.3f}  (n={n})")
    short = {"complaint": "compl", "disclosure_request": "discl", "consultation": "consu"}
    print("    confusion (rows = truth, columns = predicted):")
    print("    " + " " * 20 + "  ".join(f"{short[c]:>5}" for c in CATEGORIES))
    for want in CATEGORIES:
        cells = "  ".join(f"{result['confusion'][(want, got)]:>5}" for got in CATEGORIES)
        print(f"    {want:<20}{cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["dev", "heldout", "both"], default="both")
    args = parser.parse_args()
    cfg = load_config(env={})
    lexicon = load_lexicon(cfg)

    def ours(subject: str, body: str) -> dict:
        return classify_text(
            subject,
            strip_quoted(body),
            lexicon,
            needs_human_threshold=cfg.classifier.needs_human_threshold,
        ).as_dict()

    examples = cfg.classifier.examples
    trained = (
        ", ".join(examples)
        if len(examples) <= 3
        else f"{len(examples)} files, {examples[0]} ... {examples[-1]}"
    )
    print(f"the statistical model learns from: {trained or 'nothing'}")
    print("(figures on those files are optimistic; heldout is the honest measure)\n")
    parts = ["dev", "heldout"] if args.part == "both" else [args.part]
    for part in parts:
        rows = load(part)
        langs = Counter(r["language"] for r in rows)
        print(f"{part}: {len(rows)} messages ({langs['en']} en, {langs['ja']} ja)")
        report("inquiry-desk", evaluate(rows, ours))
        report("keyword baseline", evaluate(rows, baseline))
        print()
    print(f"request types known: {', '.join(REQUEST_TYPES)}")


if __name__ == "__main__":
    main()
