"""The web UI in a real headless Chromium against a live hub (SQLite backend), with the `hub demo` data."""

from __future__ import annotations

import hashlib

import pytest

from hub.demo import adapter_files
from hub.demo_catalog import DEMO_CATALOG
from hub.registry.publish.metadata import TASK_FROM_PEFT
from tests.web.conftest import sqlite_only

pytestmark = [pytest.mark.browser, sqlite_only]
BY_NAME = {demo.name: demo for demo in DEMO_CATALOG}
MOBILE = {"width": 375, "height": 800}


def facet_value(demo, facet: str) -> set[str]:
    """What the demo catalogue says an adapter's facet is, independently of the hub's search code."""
    values = {
        "base_model": demo.base.model_id,
        "task": demo.meta.task or TASK_FROM_PEFT[demo.task_type],
        "architecture": demo.meta.base_model_type,
        "method": demo.method,
        "library": "peft",
        "license": demo.meta.license,
    }
    return set(demo.meta.tags) if facet == "tag" else {values[facet]}


def result_names(page) -> list[str]:
    return [text.split("/", 1)[1] for text in page.locator(".results .card-name").all_inner_texts()]


def metadata(page) -> dict[str, str]:
    labels, values = page.locator(".meta-table th"), page.locator(".meta-table td")
    return dict(zip(labels.all_inner_texts(), values.all_inner_texts(), strict=True))


def test_search_and_each_filter_narrow_the_results(page, live_hub, demo, console):
    page.goto(f"{live_hub}/search")
    assert sorted(result_names(page)) == sorted(BY_NAME)
    for facet in ("base_model", "task", "architecture", "method", "library", "license", "tag"):
        facet_list = page.locator(f'details:has(ul[data-facet="{facet}"])')
        if facet_list.get_attribute("open") is None:
            facet_list.locator("summary").click()  # the less used facets start folded
        link = page.locator(f'ul[data-facet="{facet}"] a').first
        value = link.inner_text()
        link.click()
        expected = sorted(name for name, demo in BY_NAME.items() if value in facet_value(demo, facet))
        assert sorted(result_names(page)) == expected, (facet, value)
        assert page.locator(".chip").first.inner_text().endswith(f"{value} \u00d7")
        page.locator(".chip", has_text=value).click()  # removing the filter restores everything
        assert len(result_names(page)) == len(BY_NAME)
    page.fill(".search-bar input[name=q]", "sql")
    page.press(".search-bar input[name=q]", "Enter")
    assert result_names(page) == ["tinyllama-sql-lora"]
    page.goto(f"{live_hub}/search?q=sql&method=ia3")
    assert result_names(page) == [] and "No adapters match" in page.inner_text(".why-empty")
    page.goto(f"{live_hub}/search")
    page.select_option(".search-bar select[name=sort]", "name")
    page.click(".search-bar button")
    assert result_names(page) == sorted(BY_NAME) and "sort=name" in page.url
    assert console.errors == []


def test_adapter_page_shows_metadata_files_and_versions(page, live_hub, demo, console):
    demo_adapter = BY_NAME["tinyllama-sql-lora"]
    page.goto(f"{live_hub}/demo/tinyllama-sql-lora")
    rows = metadata(page)
    assert rows["Base model"] == "TinyLlama/TinyLlama-1.1B-Chat-v1.0" and rows["Method"] == "LoRA"
    assert rows["Rank"].startswith("8 (largest; varies by module)") and rows["Target modules"] == "q_proj, v_proj"
    assert rows["Layers"] == "22 (0-21)" and rows["License"] == "apache-2.0" and rows["Task"] == "text-generation"
    files = adapter_files(demo_adapter)
    shown = page.locator(".files code.sha").all_inner_texts()
    assert sorted(shown) == sorted(hashlib.sha256(data).hexdigest() for data in files.values())
    link = page.locator(".files a", has_text="adapter_config.json")
    assert page.request.get(live_hub + link.get_attribute("href")).body() == files["adapter_config.json"]
    assert page.locator(".versions tbody tr").count() == 1
    assert page.locator(".versions .badge").all_inner_texts() == ["main", "stable"]
    assert page.locator("h1", has_text="TinyLlama text-to-SQL").count() == 1  # the model card
    assert console.errors == []


def test_compat_panel_verdicts_for_matching_and_mismatching_bases(page, live_hub, demo, console):
    page.goto(f"{live_hub}/demo/smollm2-alpaca-lora")
    page.select_option("#compat-base", "HuggingFaceTB/SmolLM2-135M")
    page.click("#compat form button")
    assert page.inner_text("#verdict").startswith("Compatible with base model HuggingFaceTB/SmolLM2-135M")
    page.select_option("#compat-base", "TinyLlama/TinyLlama-1.1B-Chat-v1.0")  # other hidden size, fewer layers
    page.click("#compat form button")
    assert page.inner_text("#verdict").startswith("Not compatible")
    # Every adapted module differs in size or layer: the table lists the first 200 and counts the rest.
    assert page.locator("table.verdicts tr.bad").count() == 200
    assert "and 10 more modules like these" in page.inner_text("table.verdicts")
    assert "layers" in page.inner_text(".findings")
    page.goto(f"{live_hub}/demo/gpt2-sst2-lora")  # the paste form is open
    gpt2_like = "\n".join(f"transformer.h.{i}.attn.c_attn 768 2304" for i in range(12))
    page.fill("#compat-text", gpt2_like)
    page.click("text=Check pasted shapes")
    assert page.inner_text("#verdict").startswith("Compatible with the pasted structure")
    page.fill("#compat-text", gpt2_like.replace(" 768 ", " 1024 "))
    page.click("text=Check pasted shapes")
    assert page.inner_text("#verdict").startswith("Not compatible")
    assert page.locator("table.verdicts tr.bad").count() == 12
    assert console.errors == []


def test_sign_in_upload_a_peft_folder_and_see_the_new_version(page, live_hub, alice, peft_folder, console):
    page.goto(f"{live_hub}/new")
    assert "/login" in page.url  # publishing needs a sign-in first
    page.fill("#token", alice.token)
    page.click("form[action='/login'] button")
    assert page.url == f"{live_hub}/new"
    folder_files = sorted(str(path) for path in peft_folder.iterdir())
    page.fill("#name", "tiny-llama-lora")
    page.set_input_files("#files", folder_files)
    page.fill("#tags", "test, tiny")
    page.click("form[action='/new'] button[type=submit]")
    assert page.url == f"{live_hub}/alice/tiny-llama-lora", page.locator(".alert").all_inner_texts()
    assert page.locator(".versions tbody tr").count() == 1
    page.click("text=Publish a new version")
    assert page.input_value("#name") == "tiny-llama-lora"
    page.set_input_files("#files", folder_files)
    page.fill("#license", "mit")
    page.click("form[action='/new'] button[type=submit]")
    assert page.locator(".versions tbody tr").first.inner_text().startswith("v2")
    assert page.locator(".versions tbody tr").first.locator(".badge").all_inner_texts() == ["main"]
    rows = metadata(page)
    assert rows["Base model"] == "tiny/llama-test" and rows["License"] == "mit" and rows["Rank"] == "4, alpha 8"
    page.goto(f"{live_hub}/tokens")
    assert "this browser" in page.inner_text("table.tokens")
    page.click("text=Sign out")
    assert page.locator("nav", has_text="Sign in").count() == 1
    assert console.errors == []


def test_pages_work_without_javascript(chromium, live_hub, demo):
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_hub}/search")
    page.locator('ul[data-facet="method"] a', has_text="ia3").click()
    assert sorted(result_names(page)) == ["gpt2-imdb-ia3", "smollm2-summarize-ia3"]
    page.goto(f"{live_hub}/demo/gpt2-imdb-ia3")
    page.select_option("#compat-base", "openai-community/gpt2")
    page.click("#compat form button")
    assert page.inner_text("#verdict").startswith("Compatible")
    context.close()


def test_no_console_errors_and_no_horizontal_scroll_at_375px(chromium, live_hub, demo, alice, console):
    context = chromium.new_context(viewport=MOBILE)
    page = context.new_page()
    page.on("console", console.record)
    page.on("pageerror", console.uncaught)
    pages = [
        "/", "/search", "/search?method=lora&sort=recent", "/search?q=nothing-matches", "/demo",
        "/demo/smollm2-alpaca-lora", "/demo/gpt2-sst2-lora/tree/v1", "/bases/HuggingFaceTB/SmolLM2-135M",
        "/demo/tinyllama-sql-lora/compat?base=HuggingFaceTB/SmolLM2-135M", "/login",
    ]  # fmt: skip
    for path in pages:
        _assert_fits(page, live_hub + path)
    page.fill("#token", alice.token)
    page.click("form[action='/login'] button")
    for path in ("/tokens", "/new"):
        _assert_fits(page, live_hub + path)
    assert console.errors == []
    page.goto(f"{live_hub}/demo/no-such-adapter")  # the 404 page: the only console error is the 404 itself
    assert page.locator(".error-page").count() == 1 and _width(page) <= MOBILE["width"]
    assert all("404" in error for error in console.errors)
    context.close()


def _assert_fits(page, url: str) -> None:
    response = page.goto(url)
    assert response.status == 200, url
    assert _width(page) <= MOBILE["width"], url


def _width(page) -> int:
    return page.evaluate("document.scrollingElement.scrollWidth")
