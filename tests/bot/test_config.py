"""Settings: defaults, partial files, and one clear line with exit code 2 on bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import DEFAULTS_FILE, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_defaults_are_what_the_readme_promises():
    cfg = load_config(env={})
    assert cfg.store.url == "sqlite+aiosqlite:///var/inquiry-desk.db"
    assert (cfg.smtp_receiver.host, cfg.smtp_receiver.port) == ("127.0.0.1", 8025)
    assert cfg.smtp_receiver.recipients == ["inquiry@example.com"]
    assert cfg.relay.kind == "maildir" and str(cfg.relay.path) == "var/outbox"
    assert cfg.organization.fee_jpy == 2500


def test_every_default_key_is_documented_by_a_comment():
    lines = DEFAULTS_FILE.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if "=" in line and not line.lstrip().startswith("#"):
            above = lines[i - 1].strip()
            assert above.startswith("#") or lines[i - 1].strip().endswith('"') or "=" in above, (
                f"undocumented key on line {i + 1}: {line}"
            )


def test_a_file_needs_only_the_keys_it_changes(tmp_path):
    path = tmp_path / "site.toml"
    path.write_text('[smtp_receiver]\nport = 2525\n[organization]\nname = "X Corp"\n')
    cfg = load_config(path, env={})
    assert cfg.smtp_receiver.port == 2525
    assert cfg.smtp_receiver.host == "127.0.0.1"
    assert cfg.organization.name == "X Corp"
    assert cfg.organization.fee_jpy == 2500


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[smtp_receiver]\nprot = 25\n", "prot"),
        ("[smtp_reciever]\nport = 25\n", "smtp_reciever"),
        ('[smtp_receiver]\nport = "25"\n', "smtp_receiver.port"),
        ('[outbound]\nrelay = "ftp://x"\n', "outbound.relay"),
        ('[smtp_receiver]\nrecipients = "a@example.com"\n', "smtp_receiver.recipients"),
        ("not toml at all [", "not valid TOML"),
    ],
)
def test_bad_config_exits_2_with_one_line_naming_the_key(tmp_path, text, named):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_config(path, env={})
    result = run_cli("serve", "--config", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert named in result.stderr


def test_missing_secret_exits_2_naming_the_variable(tmp_path):
    path = tmp_path / "relay.toml"
    path.write_text('[outbound]\nrelay = "smtp://127.0.0.1:2525"\nusername = "bot"\n')
    env = {k: v for k, v in os.environ.items() if k != "INQUIRY_DESK_SMTP_PASSWORD"}
    result = run_cli("serve", "--config", str(path), env=env)
    assert result.returncode == 2
    assert "INQUIRY_DESK_SMTP_PASSWORD" in result.stderr
    assert "Traceback" not in result.stderr


def test_secret_from_the_environment_is_used():
    cfg = load_config(
        overrides={"outbound": {"relay": "smtp://h:25", "username": "bot"}},
        env={"INQUIRY_DESK_SMTP_PASSWORD": "s3cret"},
    )
    assert cfg.secret("outbound.password_env") == "s3cret"


@pytest.mark.parametrize("command", [[], ["serve"], ["classify"], ["tickets"], ["status"]])
def test_help_on_every_command(command):
    result = run_cli(*command, "--help")
    assert result.returncode == 0
    assert "usage: inquiry-desk" in result.stdout


def test_classify_jsonl_keeps_order_and_survives_bad_lines(tmp_path):
    import json

    lines = [
        json.dumps({"id": "a", "subject": "", "body": "Please delete all my personal data."}),
        '{"id": "b", "subject": "x", "body": ',  # cut off: not JSON
        json.dumps(
            {"id": 3, "subject": "質問", "body": "共同利用とは何ですか？", "channel": "slack"}
        ),
        json.dumps({"id": "d", "subject": 1, "body": "x"}),
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli("classify", "--jsonl", str(source))
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o.get("id") for o in out] == ["a", "b", 3, "d"]
    assert out[0]["category"] == "disclosure_request"
    assert out[0]["request_types"] == ["usage_withholding"]
    assert "error" in out[1] and "category" not in out[1]
    assert out[2]["language"] == "ja" and out[2]["category"] == "consultation"
    assert "error" in out[3]
    for key in ("categories", "deputy", "confidence", "needs_human", "reasons"):
        assert key in out[0]
    assert result.stderr == ""  # progress only on a terminal
