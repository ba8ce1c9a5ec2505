"""Every `curl` example in the README answers, verbatim, against the app (in-process)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BASE = "http://127.0.0.1:8000"


def curl_commands() -> list[list[str]]:
    """The words of every curl command in the README's ```bash blocks (a quoted body may span lines)."""
    commands: list[list[str]] = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S):
        command: list[str] | None = None
        for word in shlex.split(block.replace("\\\n", " "), comments=True):
            if word == "curl":
                command = []
                commands.append(command)
            if command is not None:
                command.append(word)
    return commands


def parse(words: list[str]) -> tuple[str, str, dict | None]:
    """Method, path and JSON body of one curl command."""
    method, body, url = "GET", None, None
    for index, word in enumerate(words):
        if word == "-X":
            method = words[index + 1]
        elif word in ("-d", "--data"):
            body = json.loads(words[index + 1])
        elif word.startswith(BASE):
            url = word.removeprefix(BASE)
    assert url is not None, words
    return method, url, body


def headers_of(words: list[str]) -> dict[str, str]:
    """The `-H 'Name: value'` headers of one curl command (e.g. an `Accept` asking for CSV or a plot)."""
    pairs = [words[index + 1].split(":", 1) for index, word in enumerate(words) if word in ("-H", "--header")]
    return {name.strip(): value.strip() for name, value in pairs}


def test_the_readme_has_examples():
    assert len(curl_commands()) >= 5


@pytest.mark.anyio
@pytest.mark.parametrize("command", curl_commands(), ids=lambda c: parse(c)[0] + " " + parse(c)[1])
async def test_readme_example_answers(client, command):
    method, path, body = parse(command)
    headers = headers_of(command)
    response = await client.request(method, path, json=body, headers=headers)
    assert response.status_code in (200, 201, 202, 204), response.text
    if "Accept" in headers:
        assert response.headers["content-type"].startswith(headers["Accept"])


def test_every_setting_is_documented():
    from service.settings import Settings

    text = README.read_text()
    missing = [name for name in Settings.model_fields if f"`RMT_{name.upper()}`" not in text]
    assert not missing
