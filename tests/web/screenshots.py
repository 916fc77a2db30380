"""Screenshots of the main pages with the `hub demo` data, for the README: python -m tests.web.screenshots [outdir]

Starts a hub on a temporary SQLite database, loads the demo adapters, and drives Debian's Chromium.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

SHOTS = {
    "home.png": "/",
    "search.png": "/search?base_model=HuggingFaceTB/SmolLM2-135M",
    "adapter.png": "/demo/tinyllama-sql-lora",
    "compat.png": "/demo/gpt2-sst2-lora/compat?base=HuggingFaceTB/SmolLM2-135M#compat",
    "mobile-adapter.png": "/demo/smollm2-alpaca-lora",
}
MOBILE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 860}


@contextmanager
def demo_hub() -> Iterator[str]:
    """A hub with the demo data, served by uvicorn on a free loopback port."""
    import uvicorn

    from hub.app import create_app
    from hub.config import Settings
    from hub.demo import load_demo
    from hub.migrate import upgrade

    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=Path(data_dir))
        upgrade(settings.database_url)
        app = create_app(settings)
        load_demo(app.state.session_factory, app.state.storage, app.state.limits)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        yield _url_when_up(server)
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


def _url_when_up(server) -> str:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if server.started and server.servers:
            port = server.servers[0].sockets[0].getsockname()[1]
            url = f"http://127.0.0.1:{port}"
            if httpx.get(f"{url}/healthz").status_code == 200:
                return url
        time.sleep(0.05)
    raise RuntimeError("the hub did not start")


def take(out_dir: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    saved = []
    with demo_hub() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for name, path in SHOTS.items():
            page = browser.new_page(viewport=MOBILE if name.startswith("mobile") else DESKTOP)
            page.goto(url + path)
            page.screenshot(path=out_dir / name, full_page=not name.startswith("compat"))
            saved.append(out_dir / name)
            page.close()
        browser.close()
    return saved


if __name__ == "__main__":
    for path in take(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")):
        print(path)
