"""Running the `hub` command in-process against a live hub, as a shell would: argv in, exit code and output out.

In-process (``hub.cli.main``) rather than a subprocess: the same code path, a tenth of the time. An
exception the CLI failed to turn into one line escapes ``main`` and fails the test with its traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from hub.cli import main


@dataclass
class Ran:
    code: int
    out: str
    err: str


Cli = Callable[..., Ran]


@pytest.fixture
def cli(hub_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """cli(*argv, token=..., url=...): the command's exit code, stdout and stderr (argparse's exit 2 included)."""

    def run(*argv: str, token: str | None = None, url: str | None = None) -> Ran:
        monkeypatch.setenv("HUB_URL", url or hub_url)
        if token is None:
            monkeypatch.delenv("HUB_TOKEN", raising=False)
        else:
            monkeypatch.setenv("HUB_TOKEN", token)
        capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as exit_:  # argparse's usage errors
            code = int(exit_.code or 0)
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run
