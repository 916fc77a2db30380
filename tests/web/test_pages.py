"""The pages over plain HTTP (TestClient) on both backends: content, errors, sign-in, tokens, publishing."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser

from tests.helpers import gpt2_ia3_files, publish, stored_state, tiny_lora_files

HTML = {"Accept": "text/html,application/xhtml+xml"}


class Tags(HTMLParser):
    """Every start tag with its attributes, to check what a page really contains."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def find(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def csrf_of(client, path: str = "/login") -> str:
    page = client.get(path, headers=HTML)
    return next(a["value"] for a in Tags(page.text).find("input") if a.get("name") == "csrf")


def sign_in(client, account) -> None:
    response = client.post("/login", data={"token": account.token, "csrf": csrf_of(client)}, follow_redirects=False)
    assert response.status_code == 303, response.text


def test_front_page_and_search_list_published_adapters(client, alice):
    publish(client, alice, "alice/llama-lora", tiny_lora_files(), tags=["sql"], license="mit")
    publish(client, alice, "alice/gpt2-ia3", gpt2_ia3_files(), base_model="openai-community/gpt2")
    home = client.get("/", headers=HTML).text
    assert "alice/</span>llama-lora" in home and "alice/</span>gpt2-ia3" in home
    assert 'href="/search?method=ia3"' in home
    filtered = client.get("/search?method=ia3", headers=HTML).text
    assert "gpt2-ia3" in filtered and "llama-lora" not in filtered and "1 adapter<" in filtered
    assert "llama-lora" in client.get("/search?q=sql&license=mit", headers=HTML).text


def test_search_pages_with_a_cursor_the_url_holds(client, alice, app):
    for index in range(3):
        publish(client, alice, f"alice/a{index}", tiny_lora_files(seed=index))
    app.state.settings.page_size = 2
    first = client.get("/search?sort=name", headers=HTML).text
    assert "a0" in first and "a1" in first and "a2<" not in first
    next_url = re.search(r'<a rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(next_url, headers=HTML).text
    assert "a2<" in second and "a0<" not in second and "First page" in second


def test_empty_search_says_why(client, alice):
    publish(client, alice, "alice/only", tiny_lora_files())
    text = client.get("/search?method=ia3", headers=HTML).text
    assert "No adapters match" in text
    assert "No adapter that passes the other filters has method &#39;ia3&#39;; they have lora (1)" in text
    assert "every word of &#39;zebra&#39;" in client.get("/search?q=zebra", headers=HTML).text


def test_adapter_page_shows_metadata_files_and_versions(client, alice):
    v1 = tiny_lora_files(seed=1)
    publish(client, alice, "alice/sql", v1, license="apache-2.0", base_model_type="llama")
    publish(client, alice, "alice/sql", tiny_lora_files(rank=8, seed=2), base_model_type="llama")
    text = client.get("/alice/sql", headers=HTML).text
    for expected in ("tiny/llama-test", "llama", "LoRA", "q_proj, v_proj", "apache-2.0", "peft 0.21.2"):
        assert f"<td>{expected}" in text or f">{expected}</a>" in text, expected
    assert "<td>8, alpha 16</td>" in text  # the latest version's rank
    assert 'href="/alice/sql/tree/v1"' in text and 'href="/alice/sql/tree/v2"' in text
    assert ".pull(&#34;alice/sql&#34;, into=base)" in text and "hub pull alice/sql" in text
    older = client.get("/alice/sql/tree/v1", headers=HTML).text
    assert hashlib.sha256(v1["adapter_model.safetensors"]).hexdigest() in older
    assert "You are looking at <strong>v1</strong>" in older and "<td>4, alpha 8</td>" in older
    link = next(a["href"] for a in Tags(older).find("a") if a.get("href", "").endswith("adapter_config.json"))
    assert client.get(link).content == v1["adapter_config.json"]


def test_model_card_is_rendered_inert(client, alice):
    card = (
        "---\nbase_model: tiny/llama-test\nlibrary_name: peft\n---\n# Evil card\n\n"
        "<script>alert('card')</script>\n\n<img src=x onerror=\"alert('img')\">\n\n"
        "[click](javascript:alert('md')) <a href=\"javascript:alert('a')\" onclick=\"alert('c')\">raw</a> "
        '<a href="JaVaScRiPt&#58;alert(\'e\')">entity</a> <svg onload=alert(1)></svg> <iframe src="https://x"></iframe>'
    )
    files = {**tiny_lora_files(), "README.md": card.encode()}
    assert publish(client, alice, "alice/evil", files).status_code == 201
    response = client.get("/alice/evil", headers=HTML)
    assert "script-src" not in response.headers["content-security-policy"]  # default-src 'self' covers scripts
    text = response.text
    tags = Tags(text)
    assert [s.get("src") for s in tags.find("script")] == ["/static/copy.js"]
    assert not [attrs for _, attrs in tags.tags if any(name.startswith("on") for name in attrs)]
    hrefs = [a.get("href") or "" for a in tags.find("a")]
    assert not [href for href in hrefs if "script" in href.lower()]
    assert not tags.find("svg") and not tags.find("iframe")
    assert "<h1>Evil card</h1>" in text and "library_name: peft" not in text  # front matter not shown


def test_browsers_get_html_errors_and_api_clients_keep_json(client):
    page = client.get("/nobody/nothing", headers=HTML)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert page.headers["X-Error-Code"] == "AdapterNotFound" and "No adapter is called nobody/nothing" in page.text
    assert "Traceback" not in page.text
    machine = client.get("/nobody/nothing")
    assert machine.status_code == 404 and machine.json()["error"]["code"] == "AdapterNotFound"
    api = client.get("/api/nothing-here", headers=HTML)
    assert api.status_code == 404 and api.json()["error"]["code"] == "NotFound"
    assert client.get("/api/adapters/nobody/x", headers=HTML).json()["error"]["code"] == "AdapterNotFound"
    assert client.get("/search?cursor=garbage", headers=HTML).status_code == 400
    assert client.get("/favicon.ico", headers=HTML).status_code == 404  # reserved, never a namespace


def test_sign_in_cookie_is_httponly_lax_and_forms_need_the_csrf_token(client, alice):
    refused = client.post("/login", data={"token": alice.token, "csrf": "forged"}, follow_redirects=False)
    assert refused.status_code == 403 and "hub_session" not in refused.headers.get("set-cookie", "")
    wrong = client.post("/login", data={"token": "hub_wrong", "csrf": csrf_of(client)})
    assert wrong.status_code == 401 and "not valid" in wrong.text
    response = client.post(
        "/login", data={"token": alice.token, "csrf": csrf_of(client), "next": "//evil.example"}, follow_redirects=False
    )
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert "hub_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "Sign out" in client.get("/", headers=HTML).text


def test_tokens_page_lists_creates_and_revokes(client, alice):
    assert client.get("/tokens", follow_redirects=False).headers["location"] == "/login?next=/tokens"
    sign_in(client, alice)
    listed = client.get("/tokens", headers=HTML).text
    assert "this browser" in listed and alice.token[:8] in listed
    csrf = csrf_of(client, "/tokens")
    created = client.post("/tokens", data={"name": "laptop", "csrf": csrf}).text
    new_token = re.search(r'<code id="new-token">([^<]+)</code>', created).group(1)
    assert client.get("/api/whoami", headers={"Authorization": f"Bearer {new_token}"}).status_code == 200
    token_id = re.search(r'action="/tokens/(\d+)/revoke"', created).group(1)  # newest first: "laptop"
    client.post(f"/tokens/{token_id}/revoke", data={"csrf": csrf})
    assert client.get("/api/whoami", headers={"Authorization": f"Bearer {new_token}"}).status_code == 401
    client.post("/logout", data={"csrf": csrf})
    assert "Sign in" in client.get("/", headers=HTML).text
    assert client.get("/tokens", follow_redirects=False).status_code == 303  # the session token was revoked


def test_publishing_from_the_form_uses_the_publish_path(client, alice, app):
    sign_in(client, alice)
    csrf = csrf_of(client, "/new")
    files = tiny_lora_files()
    upload = [("files", (path, data)) for path, data in files.items()]
    fields = {"csrf": csrf, "namespace": "alice", "name": "web-lora", "tags": "sql, code", "license": "mit"}
    response = client.post("/new", data=fields, files=upload, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/alice/web-lora"
    again = client.post("/new", data={**fields, "allow_unchanged": "1"}, files=upload, follow_redirects=False)
    assert again.status_code == 303
    detail = client.get("/api/adapters/alice/web-lora").json()
    assert [v["version"] for v in detail["versions"]] == ["v2", "v1"] and detail["tags"] == ["code", "sql"]
    assert detail["refs"]["main"] == "v2"


def test_a_refused_publish_leaves_nothing_and_explains(client, alice, app):
    sign_in(client, alice)
    before = stored_state(app)
    bad = [("files", ("adapter_model.safetensors", tiny_lora_files()["adapter_model.safetensors"]))]
    data = {"csrf": csrf_of(client, "/new"), "namespace": "alice", "name": "broken"}
    response = client.post("/new", data=data, files=bad)
    assert response.status_code == 400 and "no adapter_config.json" in response.text
    assert 'value="broken"' in response.text  # the form keeps what was typed
    after = stored_state(app)
    assert {k: after[k] for k in ("adapters", "versions")} == {k: before[k] for k in ("adapters", "versions")}
    foreign = client.post("/new", data={**data, "namespace": "bob", "name": "x"}, files=bad)
    assert foreign.status_code in (400, 403, 404)


def test_compat_panel_gives_verdicts_for_known_bases_and_pasted_shapes(client, alice):
    publish(client, alice, "alice/llama", tiny_lora_files())
    publish(client, alice, "alice/gpt2", gpt2_ia3_files(), base_model="openai-community/gpt2")
    fits = client.get("/alice/llama/compat?base=tiny/llama-test", headers=HTML).text
    assert "<strong>Compatible</strong> with base model tiny/llama-test" in fits
    other = client.get("/alice/llama/compat?base=openai-community/gpt2", headers=HTML).text
    assert "<strong>Not compatible</strong>" in other and "4 errors" in other
    csrf = csrf_of(client, "/alice/llama")
    lines = "\n".join(
        f"model.layers.{i}.self_attn.{m} 64 {o}" for i in range(2) for m, o in (("q_proj", 64), ("v_proj", 32))
    )
    pasted = client.post("/alice/llama/compat", data={"structure": lines, "csrf": csrf}).text
    assert "<strong>Compatible</strong> with the pasted structure" in pasted
    wider = lines.replace(" 64 ", " 128 ")
    mismatch = client.post("/alice/llama/compat", data={"structure": wider, "csrf": csrf}).text
    assert "<strong>Not compatible</strong>" in mismatch and "sizes differ" in mismatch
    unreadable = client.post("/alice/llama/compat", data={"structure": "nonsense", "csrf": csrf})
    assert unreadable.status_code == 400 and "cannot be read" in unreadable.text


def test_namespace_and_base_pages(client, alice):
    publish(client, alice, "alice/one", tiny_lora_files())
    publish(client, alice, "alice/two", gpt2_ia3_files(), base_model="openai-community/gpt2")
    namespace = client.get("/alice", headers=HTML).text
    assert "alice/</span>one" in namespace and "alice/</span>two" in namespace and "2 adapters" in namespace
    base = client.get("/bases/openai-community/gpt2", headers=HTML).text
    assert "alice/</span>two" in base and "alice/</span>one" not in base and "36 (linear)" in base
    assert client.get("/bases/nobody/nothing", headers=HTML).status_code == 404
    assert client.get("/nobody", headers=HTML).status_code == 404


def test_private_adapters_show_only_to_members(client, alice, bob):
    publish(client, alice, "alice/secret", tiny_lora_files(), private=True)
    publish(client, alice, "alice/open", tiny_lora_files(seed=3))
    for path in ("/", "/search", "/alice"):
        assert "secret" not in client.get(path, headers=HTML).text, path
    assert client.get("/alice/secret", headers=HTML).status_code == 404  # exactly like a missing adapter
    sign_in(client, bob)
    assert client.get("/alice/secret", headers=HTML).status_code == 404
    client.cookies.clear()
    sign_in(client, alice)
    assert "alice/</span>secret" in client.get("/search", headers=HTML).text
    page = client.get("/alice/secret", headers=HTML).text
    assert "private" in page and "Publish a new version" in page


def test_a_read_only_token_signs_in_read_only(client, app):
    from tests.fixtures.hub import make_account

    reader = make_account(app, "reader")
    with app.state.session_factory() as session:  # swap the account's token for a read-only one
        from hub.accounts.service import AccountService

        accounts = AccountService(session)
        user = accounts.user("reader")
        reader.token = accounts.create_token(user, scopes=["read"])
        session.commit()
    sign_in(client, reader)
    tokens = client.get("/tokens", headers=HTML).text
    assert '"Scopes">read</td>' in tokens and 'value="write"' not in tokens  # the browser got no more than read
    data = {"csrf": csrf_of(client, "/new"), "namespace": "reader", "name": "x"}
    refused = client.post("/new", data=data, files=[("files", ("adapter_config.json", b"{}"))], headers=HTML)
    assert refused.status_code == 403 and "needs &#39;write&#39;" in refused.text


def test_every_page_context_is_documented():
    from dataclasses import fields, is_dataclass
    from pathlib import Path

    import web.contexts

    docs = (Path(__file__).parents[2] / "docs" / "web.md").read_text()
    pages = [v for v in vars(web.contexts).values() if is_dataclass(v) and v.__module__ == "web.contexts"]
    assert pages and all(f"`{page.__name__}`" in docs for page in pages)
    assert all(field.metadata.get("help") for page in pages for field in fields(page))
