"""`python -m shop [--port N]`: serve the shop until interrupted or terminated."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys

from shop.server import ShopServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options, with PORT, HOST and SHOP_PAYMENT_DELAY from the environment as defaults."""
    parser = argparse.ArgumentParser(prog="python -m shop", description="Serve the tea shop.")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8765")))
    parser.add_argument(
        "--payment-delay",
        type=float,
        default=float(os.environ.get("SHOP_PAYMENT_DELAY", "0.2")),
        help="seconds a payment takes to authorise (default: 0.2)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Serve until Ctrl-C or SIGTERM, then close the socket and exit 0."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    with ShopServer((args.host, args.port), payment_delay=args.payment_delay) as server:
        print(f"shop: serving on http://{args.host}:{server.server_port}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()


if __name__ == "__main__":
    main()
