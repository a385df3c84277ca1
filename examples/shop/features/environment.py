"""Point every scenario at the shop under test: BASE_URL, default http://127.0.0.1:8765."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

DEFAULT_BASE_URL = "http://127.0.0.1:8765"


class ShopClient:
    """A JSON client for the shop's HTTP API that returns error answers instead of raising."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def get(self, path: str) -> tuple[int, Any]:
        """GET a path; the status and the decoded JSON answer."""
        return self._send(urllib.request.Request(self.base_url + path))

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        """POST a JSON body to a path; the status and the decoded JSON answer."""
        request = urllib.request.Request(
            self.base_url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        return self._send(request)

    @staticmethod
    def _send(request: urllib.request.Request) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.load(error)


def before_all(context: Any) -> None:
    context.shop = ShopClient(os.environ.get("BASE_URL", DEFAULT_BASE_URL))
