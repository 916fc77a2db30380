"""Server error codes become same-named SDK exceptions; network failures are retried, then reported clearly."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

import hub.errors as server_errors
import sdk.errors as sdk_errors
from sdk import Hub
from sdk._http import raise_for_status
from tests.helpers import tiny_lora_files
from tests.sdk.test_support import Traffic, write_folder

pytest_plugins = ["tests.sdk.test_support"]
pytestmark = pytest.mark.usefixtures("sdk_env")


def test_every_server_code_has_a_same_named_sdk_exception() -> None:
    for server_class in server_errors.all_errors():
        sdk_class = getattr(sdk_errors, server_class.code, None)
        assert sdk_class is not None, f"sdk/errors.py lacks {server_class.code}"
        assert sdk_class.code == server_class.code and sdk_class.status == server_class.status
        assert issubclass(sdk_class, sdk_errors.HubError) and issubclass(sdk_class, OSError)


@pytest.mark.parametrize("server_class", server_errors.all_errors(), ids=lambda cls: cls.code)
def test_raise_for_status_maps_each_code(server_class: type[server_errors.HubError]) -> None:
    body = {"error": {"code": server_class.code, "message": "what went wrong"}}
    response = httpx.Response(server_class.status, headers={"X-Error-Code": server_class.code}, json=body)
    with pytest.raises(sdk_errors.HubError) as caught:
        raise_for_status(response, "acme/x@v2, file adapter_model.safetensors")
    assert type(caught.value).__name__ == server_class.code
    assert caught.value.status == server_class.status
    assert str(caught.value) == "acme/x@v2, file adapter_model.safetensors: what went wrong"


def test_an_answer_that_is_not_the_hubs_still_says_what_came_back() -> None:
    response = httpx.Response(502, text="<html>Bad Gateway</html>", request=httpx.Request("GET", "http://x/api"))
    with pytest.raises(sdk_errors.HubError) as caught:
        raise_for_status(response, "acme/x@main")
    assert caught.value.code == "HTTP502" and "Bad Gateway" in str(caught.value)


def test_errors_from_a_live_hub(hub: Hub, hub_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "adapter", tiny_lora_files())
    hub.publish(folder, "alice/errors", base_model="tiny/llama-test")
    cases = [
        (lambda: hub.info("alice/nothing"), sdk_errors.AdapterNotFound),
        (lambda: hub.download("alice/errors@v9"), sdk_errors.RevisionNotFound),
        (lambda: hub.publish(folder, "bob/theirs"), sdk_errors.Forbidden),
        (lambda: hub.publish(folder, "alice/x.git"), sdk_errors.InvalidName),
        (lambda: hub.publish(folder, "alice/y", base_model="./local/path"), sdk_errors.InvalidMetadata),
        (lambda: list(hub.search(sort="nonsense")), sdk_errors.InvalidRequest),
        (lambda: Hub(hub_url).publish(folder, "alice/anon"), sdk_errors.AuthenticationRequired),
        (lambda: Hub(hub_url, token="not-a-token").whoami(), sdk_errors.InvalidToken),
        (lambda: Hub(f"{hub_url}/nowhere").info("alice/errors"), sdk_errors.NotFound),
    ]
    for call, expected in cases:
        with pytest.raises(expected) as caught:
            call()
        assert caught.value.code == expected.__name__ and len(caught.value.message) > 20


def test_a_disguised_pickle_is_refused_by_name(hub: Hub, tmp_path: Path) -> None:
    files = tiny_lora_files()
    files["adapter_model.safetensors"] = b"\x80\x04\x95" + b"\x00" * 64  # a pickle under a safetensors name
    with pytest.raises(sdk_errors.PickleRefused, match=r"adapter_model\.safetensors"):
        hub.publish(write_folder(tmp_path / "bad", files), "alice/bad", base_model="tiny/llama-test")


def test_messages_name_adapter_and_revision(hub: Hub, tmp_path: Path) -> None:
    hub.publish(write_folder(tmp_path / "a", tiny_lora_files()), "alice/named", base_model="tiny/llama-test")
    with pytest.raises(sdk_errors.RevisionNotFound) as caught:
        hub.version("alice/named@stable")
    assert "alice/named@stable" in str(caught.value)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


def test_a_closed_port_is_retried_then_reported_as_a_connection_error(sdk_env: None) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    client = Hub(url, retries=2, backoff=0.02)
    started = time.monotonic()
    with pytest.raises(sdk_errors.HubConnectionError) as caught:
        client.info("acme/sst2-lora")
    assert time.monotonic() - started >= 0.02 + 0.04  # two backoffs were waited
    assert isinstance(caught.value, ConnectionError) and isinstance(caught.value, sdk_errors.HubError)
    message = str(caught.value)
    assert "acme/sst2-lora" in message and url in message and "after 3 attempts" in message


def test_503_is_retried_for_reads_but_not_for_commits(hub: Hub, traffic: Traffic, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "a", tiny_lora_files())
    hub.publish(folder, "alice/flaky", base_model="tiny/llama-test")
    traffic.fail_next = 2
    assert hub.info("alice/flaky")["id"] == "alice/flaky"  # the third attempt got through
    traffic.fail_next, traffic.requests[:] = 1, []
    with pytest.raises(sdk_errors.StorageUnavailable, match="publish alice/flaky"):
        hub.publish(folder, "alice/flaky", base_model="tiny/llama-test")
    assert [method for method, _ in traffic.requests] == ["POST"]  # not repeated: a POST may have taken effect
    traffic.fail_next = 5
    with pytest.raises(sdk_errors.StorageUnavailable):
        hub.info("alice/flaky")  # retries=2: gives up after 3 answers, with the hub's own error
    assert traffic.fail_next == 2


def test_a_blob_upload_is_retried_since_repeating_it_is_harmless(hub: Hub, traffic: Traffic, tmp_path: Path) -> None:
    traffic.fail_method, traffic.fail_next = "PUT", 1
    version = hub.publish(write_folder(tmp_path / "a", tiny_lora_files()), "alice/retried", base_model="x/y")
    assert version["version"] == "v1" and traffic.fail_next == 0
    puts = [path for method, path in traffic.requests if method == "PUT"]
    assert len(puts) == 4 and puts[0] == puts[1]  # three blobs, the first one twice
