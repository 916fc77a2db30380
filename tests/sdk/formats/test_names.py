"""One naming rule for both sides: the hub (hub/naming.py) and the SDK (sdk.client, sdk.cache) judge every name alike.

Each row is asked of both sides; they must agree with each other and with the expected verdict. Before
sdk/formats/names.py the SDK had its own copies, which had drifted (it took "x.git", which the hub refuses).
"""

from __future__ import annotations

import pytest

import hub.errors as hub_errors
import sdk.errors as sdk_errors
from hub import naming
from sdk.cache import safe_relative_path
from sdk.client import parse_adapter_ref
from sdk.formats import check_ref_name, is_sha256

OK = None
NAMES = {
    "plain": ("sst2-lora", OK),
    "dots and underscores": ("my_model.v2", OK),
    "single character": ("x", OK),
    "96 characters": ("a" * 96, OK),
    "97 characters": ("a" * 97, "InvalidName"),
    ".git suffix": ("model.git", "InvalidName"),
    "upper-case .GIT is a name": ("model.GIT", OK),  # the hub's rule is case-sensitive; kept as it is
    "double dot": ("a..b", "InvalidName"),
    "only dots": ("..", "InvalidName"),
    "double dash": ("a--b", "InvalidName"),
    "leading dash": ("-lead", "InvalidName"),
    "trailing dot": ("trail.", "InvalidName"),
    "non-ASCII": ("café", "InvalidName"),
    "right-to-left override": ("evil\u202egnp", "InvalidName"),
    "space": ("two words", "InvalidName"),
    "NUL": ("na\x00me", "InvalidName"),
    "empty": ("", "InvalidName"),
    "reserved as an adapter name is fine": ("api", OK),
}


def _hub_verdict(check, *args: str) -> str | None:
    try:
        check(*args)
    except hub_errors.HubError as error:
        return error.code
    return None


def _sdk_verdict(check, *args: str) -> str | None:
    try:
        check(*args)
    except sdk_errors.HubError as error:
        return error.code
    return None


@pytest.mark.parametrize(("name", "expected"), NAMES.values(), ids=NAMES.keys())
def test_the_sdk_and_the_hub_agree_on_adapter_and_namespace_names(name: str, expected: str | None) -> None:
    hub_says = _hub_verdict(naming.check_name, name, "adapter name")
    sdk_as_adapter = _sdk_verdict(parse_adapter_ref, f"alice/{name}")
    sdk_as_namespace = _sdk_verdict(parse_adapter_ref, f"{name}/adapter")
    assert hub_says == sdk_as_adapter == sdk_as_namespace == expected


@pytest.mark.parametrize("reserved", ["api", "Docs", "search", "favicon.ico"])
def test_reserved_namespaces_are_the_hubs_only_to_create(reserved: str) -> None:
    assert _hub_verdict(naming.check_namespace_name, reserved) == "ReservedName"
    assert _sdk_verdict(parse_adapter_ref, f"{reserved}/x") is None  # naming one is harmless: it cannot exist


REVISIONS = {
    "main": ("main", OK, OK),
    "tag": ("stable", OK, OK),
    "version number": ("v3", OK, "InvalidName"),
    "12-hex prefix": ("0123456789ab", OK, "InvalidName"),
    "7-hex prefix": ("0123456", OK, "InvalidName"),
    "6 hex is a tag": ("c0ffee", OK, OK),
    "full revision": ("0123456789abcdef0123456789abcdef01234567", OK, "InvalidName"),
    "65 characters": ("r" * 65, "InvalidName", "InvalidName"),
    "slash": ("a/b", "InvalidName", "InvalidName"),
    "leading dot": (".hidden", "InvalidName", "InvalidName"),
    "non-ASCII": ("stäble", "InvalidName", "InvalidName"),
}


@pytest.mark.parametrize(("revision", "to_ask", "to_tag"), REVISIONS.values(), ids=REVISIONS.keys())
def test_revisions_a_client_may_ask_for_and_tags_a_user_may_set(revision: str, to_ask: str | None, to_tag) -> None:
    assert _sdk_verdict(parse_adapter_ref, f"alice/x@{revision}") == to_ask
    assert _hub_verdict(naming.check_ref_name, revision) == to_tag
    if to_tag is OK:  # every settable tag can be asked for
        assert check_ref_name(revision) == revision and to_ask is OK


PATHS = {
    "top level": ("adapter_model.safetensors", OK),
    "nested": ("head/config.json", OK),
    "parent": ("../evil.json", "InvalidPath"),
    "nested parent": ("sub/../../evil.json", "InvalidPath"),
    "absolute": ("/etc/passwd", "InvalidPath"),
    "backslash": ("..\\evil.json", "InvalidPath"),
    "hidden": (".env", "InvalidPath"),
    "evaluation results": (".eval_results/sst2.yaml", OK),
    "evaluation results, a file": (".eval_results", "InvalidPath"),
    "hidden in evaluation results": (".eval_results/.x.yaml", "InvalidPath"),
    "other dot-folder": (".git/config", "InvalidPath"),
    "evaluation results, nested": ("sub/.eval_results/x.yaml", "InvalidPath"),
    "empty part": ("sub//x.json", "InvalidPath"),
    "256 characters": ("a" * 256, "InvalidPath"),
    "NUL": ("x.json\x00.safetensors", "InvalidPath"),
}


@pytest.mark.parametrize(("path", "expected"), PATHS.values(), ids=PATHS.keys())
def test_the_sdk_keeps_to_the_hubs_file_path_rule(path: str, expected: str | None) -> None:
    assert _hub_verdict(naming.check_file_path, path) == _sdk_verdict(safe_relative_path, path) == expected


def test_one_sha256_form() -> None:
    assert is_sha256("0" * 64) and not is_sha256("0" * 63) and not is_sha256("A" * 64) and not is_sha256("0" * 65)
