"""docs/architecture.md names every package and top-level module of qaagent."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "qaagent"
ARCHITECTURE = ROOT / "docs" / "architecture.md"


def test_every_package_and_module_of_qaagent_is_in_the_architecture_doc() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    packages = [f"`{path.parent.name}/`" for path in PACKAGE.glob("*/__init__.py")]
    modules = [f"`{path.name}`" for path in PACKAGE.glob("*.py") if path.name != "__init__.py"]

    missing = [name for name in [*packages, *modules] if name not in text]

    assert packages
    assert not missing, f"docs/architecture.md does not mention {', '.join(missing)}"
