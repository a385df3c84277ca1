"""A tiny tea shop: a product catalog, carts and checkout over a JSON API and one HTML page."""
