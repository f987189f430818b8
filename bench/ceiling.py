"""`python -m bench.ceiling --port N`: the ceiling app (bench/baseline_app.py) under exactly the service's uvicorn
settings (`run_uvicorn`, as `unionbot serve` uses), so the benchmark's ratios compare apps, not server flags."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from bot.cli.serve import run_uvicorn


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    run_uvicorn("bench.baseline_app:app", factory=False, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
