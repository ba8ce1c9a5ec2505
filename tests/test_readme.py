"""Every `curl` example in the README answers, verbatim, against the app (in-process)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BASE = "http://127.0.0.1:8000"


def curl_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S)
    commands = []
    for block in blocks:
        joined = block.replace("\\\n", " ")
        commands += [line.strip() for line in joined.splitlines() if line.strip().startswith("curl ")]
    return commands


def parse(command: str) -> tuple[str, str, dict | None]:
    """Method, path and JSON body of a curl command line."""
    words = shlex.split(command)
    method, body, url = "GET", None, None
    for index, word in enumerate(words):
        if word == "-X":
            method = words[index + 1]
        elif word in ("-d", "--data"):
            body = json.loads(words[index + 1])
        elif word.startswith(BASE):
            url = word.removeprefix(BASE)
    assert url is not None, command
    return method, url, body


def test_the_readme_has_examples():
    assert len(curl_commands()) >= 5


@pytest.mark.anyio
@pytest.mark.parametrize("command", curl_commands(), ids=lambda c: parse(c)[0] + " " + parse(c)[1])
async def test_readme_example_answers(client, command):
    method, path, body = parse(command)
    response = await client.request(method, path, json=body)
    assert response.status_code in (200, 201, 202, 204), response.text
