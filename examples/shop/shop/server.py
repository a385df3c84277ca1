"""The shop's HTTP server: a JSON API under /api, a health check and one HTML page."""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, cast

from shop.cart import (
    CartLine,
    ValidationError,
    add_line,
    find_coupon,
    parse_line,
    parse_lines,
    price,
)
from shop.catalog import PRODUCTS

Reply = tuple[HTTPStatus, dict[str, Any]]
Route = Callable[["ShopServer", re.Match[str], dict[str, Any]], Reply]


class NotFoundError(LookupError):
    """The request names a cart or a path that does not exist."""


class Store:
    """Open carts, kept in memory and shared by the server's request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._carts: dict[str, list[CartLine]] = {}
        self._order_numbers = itertools.count(1001)

    def create_cart(self, lines: list[CartLine]) -> str:
        """Open a cart and return its id."""
        cart_id = uuid.uuid4().hex[:12]
        with self._lock:
            self._carts[cart_id] = lines
        return cart_id

    def cart(self, cart_id: str) -> list[CartLine]:
        """The lines of an open cart."""
        with self._lock:
            return list(self._lookup(cart_id))

    def add(self, cart_id: str, line: CartLine) -> list[CartLine]:
        """Add a line to an open cart and return the updated lines."""
        with self._lock:
            self._carts[cart_id] = add_line(self._lookup(cart_id), line)
            return list(self._carts[cart_id])

    def close_cart(self, cart_id: str) -> str:
        """Turn an open cart into an order and return the order id."""
        with self._lock:
            self._lookup(cart_id)
            del self._carts[cart_id]
            return f"order-{next(self._order_numbers)}"

    def _lookup(self, cart_id: str) -> list[CartLine]:
        try:
            return self._carts[cart_id]
        except KeyError:
            raise NotFoundError(f"no open cart {cart_id!r}") from None


class ShopServer(ThreadingHTTPServer):
    """One shop: its store, its page and how long a payment takes to authorise."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], payment_delay: float = 0.2) -> None:
        super().__init__(address, ShopHandler)
        self.store = Store()
        self.payment_delay = payment_delay
        self.page = resources.files("shop").joinpath("static/index.html").read_bytes()

    def authorise_payment(self, total_cents: int) -> None:
        """Stands for the call to a payment provider: it takes a moment, like the real one."""
        if total_cents > 0:
            time.sleep(self.payment_delay)


def cart_json(cart_id: str, lines: list[CartLine]) -> dict[str, Any]:
    """A cart as the API shows it, priced without a coupon."""
    return {
        "id": cart_id,
        "items": [line.as_json() for line in lines],
        "totals": price(lines).as_json(),
    }


def health(shop: ShopServer, match: re.Match[str], body: dict[str, Any]) -> Reply:
    """Answers as soon as the server accepts requests."""
    return HTTPStatus.OK, {"status": "ok"}


def list_products(shop: ShopServer, match: re.Match[str], body: dict[str, Any]) -> Reply:
    """The whole catalog."""
    return HTTPStatus.OK, {"products": [product.as_json() for product in PRODUCTS]}


def create_cart(shop: ShopServer, match: re.Match[str], body: dict[str, Any]) -> Reply:
    """Open a cart, optionally with items: {"items": [{"sku": ..., "quantity": ...}]}."""
    lines = parse_lines(body.get("items", []))
    cart_id = shop.store.create_cart(lines)
    return HTTPStatus.CREATED, cart_json(cart_id, lines)


def show_cart(shop: ShopServer, match: re.Match[str], body: dict[str, Any]) -> Reply:
    """An open cart with its items and totals."""
    cart_id = match["cart_id"]
    return HTTPStatus.OK, cart_json(cart_id, shop.store.cart(cart_id))


def add_item(shop: ShopServer, match: re.Match[str], body: dict[str, Any]) -> Reply:
    """Add {"sku": ..., "quantity": ...} to an open cart."""
    cart_id = match["cart_id"]
    return HTTPStatus.OK, cart_json(cart_id, shop.store.add(cart_id, parse_line(body)))


def checkout(shop: ShopServer, match: re.Match[str], body: dict[str, Any]) -> Reply:
    """Price a cart with an optional coupon, take the payment and turn the cart into an order."""
    cart_id = body.get("cart_id")
    if not isinstance(cart_id, str):
        raise ValidationError("cart_id", "'cart_id' must be a string")
    coupon_code = body.get("coupon")
    if coupon_code is not None and not isinstance(coupon_code, str):
        raise ValidationError("coupon", "'coupon' must be a string")
    lines = shop.store.cart(cart_id)
    if not lines:
        raise ValidationError("cart_id", "the cart is empty")
    totals = price(lines, find_coupon(coupon_code))
    shop.authorise_payment(totals.total_cents)
    order_id = shop.store.close_cart(cart_id)
    return HTTPStatus.CREATED, {
        "order_id": order_id,
        "items": [line.as_json() for line in lines],
        "totals": totals.as_json(),
    }


ROUTES: dict[str, list[tuple[re.Pattern[str], Route]]] = {
    "GET": [
        (re.compile(r"/health"), health),
        (re.compile(r"/api/products"), list_products),
        (re.compile(r"/api/cart/(?P<cart_id>[\w-]+)"), show_cart),
    ],
    "POST": [
        (re.compile(r"/api/cart"), create_cart),
        (re.compile(r"/api/cart/(?P<cart_id>[\w-]+)/items"), add_item),
        (re.compile(r"/api/checkout"), checkout),
    ],
}


class ShopHandler(BaseHTTPRequestHandler):
    """Routes each request to its function and turns errors into JSON answers."""

    server_version = "shop/1.0"

    def do_GET(self) -> None:
        """The page at /, everything else through the routes."""
        if self.path in ("/", "/index.html"):
            self._send(HTTPStatus.OK, self._shop.page, "text/html; charset=utf-8")
        else:
            self._dispatch("GET")

    def do_POST(self) -> None:
        """Every POST goes through the routes."""
        self._dispatch("POST")

    @property
    def _shop(self) -> ShopServer:
        return cast(ShopServer, self.server)

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        try:
            status, payload = self._route(method, path)
        except ValidationError as error:
            status, payload = HTTPStatus.BAD_REQUEST, {"error": error.message, "field": error.field}
        except NotFoundError as error:
            status, payload = HTTPStatus.NOT_FOUND, {"error": str(error)}
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _route(self, method: str, path: str) -> Reply:
        for pattern, route in ROUTES[method]:
            match = pattern.fullmatch(path)
            if match:
                body = self._json_body() if method == "POST" else {}
                return route(self._shop, match, body)
        raise NotFoundError(f"no such path: {method} {path}")

    def _json_body(self) -> dict[str, Any]:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) if length > 0 else b"{}")
        except (ValueError, UnicodeDecodeError):
            raise ValidationError("body", "the request body must be JSON") from None
        if not isinstance(body, dict):
            raise ValidationError("body", "the request body must be a JSON object")
        return body

    def _send(self, status: HTTPStatus, content: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)
