"""Which Python runs a suite's pytest or behave: the project's own, never qaagent's.

qaagent is often installed on its own (pipx, a tools venv), where the project's packages cannot
be imported, so each tool runs in the project's environment: the `python` the profile names,
else the active virtual environment, a `.venv` or `venv` next to the profile, or `python3`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from qaagent.model.task import Interpreter

VIRTUAL_ENV_VARIABLE = "VIRTUAL_ENV"
PROJECT_VENVS = (".venv", "venv")
FALLBACK_COMMAND = "python3"


def resolve_interpreter(
    setting: str | None, setting_name: str, root: Path, environ: Mapping[str, str]
) -> Interpreter:
    """The interpreter a setting names, else the project's environment, else python3 on PATH."""
    if setting is not None:
        return _named(setting, setting_name, root, environ)
    virtual_env = environ.get(VIRTUAL_ENV_VARIABLE, "")
    if virtual_env:
        return Interpreter(
            path=venv_python(Path(virtual_env)),
            origin=f"the active virtual environment, ${VIRTUAL_ENV_VARIABLE}",
        )
    for name in PROJECT_VENVS:
        candidate = venv_python(root / name)
        if os.path.lexists(candidate):
            return Interpreter(path=candidate, origin=f"{name} next to the profile")
    return _on_path(FALLBACK_COMMAND, "no virtual environment found, so", environ)


def venv_python(venv: Path) -> Path:
    """The interpreter of a virtual environment, without following its links out of it."""
    return venv / "bin" / "python"


def _named(setting: str, setting_name: str, root: Path, environ: Mapping[str, str]) -> Interpreter:
    """A path is taken relative to the profile's folder; a bare name is looked up on PATH."""
    if os.sep in setting or (os.altsep and os.altsep in setting):
        path = Path(os.path.normpath(root / Path(setting).expanduser()))
        return Interpreter(path=path, origin=setting_name)
    return _on_path(setting, f"{setting_name}:", environ)


def _on_path(command: str, reason: str, environ: Mapping[str, str]) -> Interpreter:
    """The command as PATH finds it; its bare name when PATH has none, so running it says so."""
    found = shutil.which(command, path=environ.get("PATH", os.defpath))
    where = "on PATH" if found else "not found on PATH"
    return Interpreter(path=Path(found or command), origin=f"{reason} {command} {where}")
