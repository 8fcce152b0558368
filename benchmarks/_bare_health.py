"""The bare peer of ``bench_startup.py``: a FastAPI app with one health route under uvicorn,
the least any FastAPI service does before its port answers (``python _bare_health.py PORT``)."""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI


def main() -> None:
    app = FastAPI()

    @app.get("/api/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")


if __name__ == "__main__":
    main()
