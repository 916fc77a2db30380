"""The hub app plus a hello-world route, served by one uvicorn worker: the adapter-info benchmark's server.

The baseline route lives in the same process, behind the same middleware, so the ratio isolates what the
adapter-info route itself costs (database query, serialisation). Access logs are off for both routes.

    HUB_DATABASE_URL=... HUB_STORAGE_URL=... python -m bench._info_server --port 8123
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI

from hub.app import create_app
from hub.config import Settings

HELLO_PATH = "/bench/hello"


def build() -> FastAPI:
    app = create_app(Settings())

    @app.get(HELLO_PATH, include_in_schema=False)
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    # First in line: the web UI's /{namespace}/{name} page would otherwise answer /bench/hello.
    app.router.routes.insert(0, app.router.routes.pop())
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(build(), host="127.0.0.1", port=args.port, workers=1, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
