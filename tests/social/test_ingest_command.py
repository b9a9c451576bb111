"""`manage.py ingest`: files and the demo stream, page by page, idempotent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from social.models import Post

pytestmark = pytest.mark.django_db


def record(n: int, **changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "network": "x",
        "external_id": str(1000 + n),
        "author": {"external_id": str(500 + n % 3), "handle": f"fan{n % 3}", "name": "", "followers": 10},
        "text": f"Post number {n} about the Acme kettle",
        "created_at": f"2026-11-01T10:{n % 60:02d}:00Z",
        "url": "",
        "in_reply_to": None,
        "metrics": {"like_count": n},
    }
    value.update(changes)
    return value


def jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n",
        encoding="utf-8",
    )
    return path


def ingest(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("ingest", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_malformed_line_is_reported_with_its_number_and_the_rest_is_stored(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path / "posts.jsonl",
        [record(1), record(2), "{broken", record(4, created_at="2026-11-01 10:00"), record(5), record(6)],
    )
    out, err = ingest("--provider", "files", "--path", str(path), "--batch-size", "2")
    assert Post.objects.count() == 4
    assert set(Post.objects.values_list("source", flat=True)) == {Post.Source.FILE}
    assert "Read 6: 4 new, 0 duplicates, 2 rejected." in out
    assert "line 3: not valid JSON" in out
    assert "line 4: created_at: needs a time zone" in out
    assert "Linked to customers: 0; flagged: " in out and "cases opened: " in out
    assert "records" in err  # the progress bar


def test_the_same_file_twice_stores_each_post_once(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "posts.jsonl", [record(n) for n in range(7)])
    ingest("--provider", "files", "--path", str(path), "--batch-size", "3")
    out, _ = ingest("--provider", "files", "--path", str(path), "--batch-size", "3")
    assert Post.objects.count() == 7
    assert "Read 7: 0 new, 7 duplicates, 0 rejected." in out


def test_csv_with_the_format_named(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_text(
        "network,external_id,author_external_id,author_handle,text,created_at,metric_like_count\n"
        "x,1,7,jo,Great kettle,2026-11-01T10:00:00Z,3\n"
        "x,2,7,jo,Broken kettle,not a date,1\n",
        encoding="utf-8",
    )
    out, _ = ingest("--provider", "files", "--path", str(path), "--format", "csv")
    assert Post.objects.get().likes == 3
    assert "line 3: created_at" in out


def test_at_most_20_rejections_are_listed(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "posts.jsonl", [record(n, network="myspace") for n in range(25)])
    out, _ = ingest("--provider", "files", "--path", str(path), "--verbosity", "0")
    assert out.count("network: unknown 'myspace'") == 20
    assert "... and 5 more" in out
    assert Post.objects.count() == 0


def test_the_demo_stream(tmp_path: Path) -> None:
    out, _ = ingest("--provider", "fake", "--count", "40", "--seed", "3", "--batch-size", "15")
    assert Post.objects.count() == 40
    assert "Read 40: 40 new" in out
    ingest("--provider", "fake", "--count", "40", "--seed", "3")
    assert Post.objects.count() == 40


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--provider", "twitter"], "Unknown provider 'twitter'"),
        (["--provider", "files"], "needs --path"),
        (
            ["--provider", "files", "--path", "/nonexistent/posts.jsonl"],
            "cannot read /nonexistent/posts.jsonl",
        ),
        (["--provider", "files", "--path", "posts.xml"], "unknown format 'xml'"),
        (["--provider", "files", "--path", "posts.jsonl", "--format", "xml"], "Unknown format 'xml'"),
        (["--provider", "files", "--path", "posts.jsonl", "--batch-size", "0"], "--batch-size"),
    ],
)
def test_bad_arguments_stop_with_one_message(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        ingest(*args)
    assert Post.objects.count() == 0


def test_a_directory_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        ingest("--provider", "files", "--path", str(tmp_path), "--format", "jsonl")


def test_from_the_shell_an_unknown_provider_is_one_line_and_a_failure() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "ingest", "--provider", "twitter"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "scrm.settings.test"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "CommandError: Unknown provider 'twitter': use files or fake."
    ]
