"""Find, read and validate the profile, with environment and command-line overrides."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from qaagent.config.models import BackendSettings, QAAgentProfile
from qaagent.config.suites import SuiteSpec, resolve_suites
from qaagent.config.yamlsource import (
    Location,
    YamlDocument,
    YamlExpansionError,
    YamlSyntaxError,
    parse_yaml,
)
from qaagent.errors import ConfigError
from qaagent.options import BACKEND, DASK_WORKERS, RUN_OPTIONS, SCHEDULER, source_of

PROFILE_NAMES = ("qaagent.yaml", ".qaagent.yaml")
QAAGENT_SECTIONS = tuple(QAAgentProfile.model_fields)


@dataclass
class LoadedProfile:
    """A validated profile, where it came from, and its resolved suites."""

    path: Path
    profile: QAAgentProfile
    suites: list[SuiteSpec]
    notices: list[str] = field(default_factory=list)
    checksum: str = ""
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        """Folder every relative path of the profile is resolved against."""
        return self.path.parent

    @property
    def runs_dir(self) -> Path:
        """Absolute folder of run directories."""
        return (self.root / self.profile.run.runs_dir).resolve()


def find_profile(config: Path | None, start: Path) -> Path:
    """The profile named on the command line, else the nearest one up from `start`."""
    if config is not None:
        path = config if config.is_absolute() else start / config
        if path.is_dir():
            raise ConfigError(
                f"{config} is a folder; --config takes the profile file itself, "
                f"such as {config / PROFILE_NAMES[0]}."
            )
        if path.exists() and not path.is_file():
            raise ConfigError(
                f"{config} is {_file_kind(path)}, not a profile file; "
                "--config takes a regular file."
            )
        if not path.is_file():
            raise ConfigError(f"{config}: no such profile file (given with --config).")
        return path.resolve()
    for folder in (start, *start.parents):
        for name in PROFILE_NAMES:
            candidate = folder / name
            if candidate.is_file():
                return candidate.resolve()
            _refuse_unusable(candidate)
    raise ConfigError(
        f"No qaagent.yaml or .qaagent.yaml in {start} or any parent folder. "
        "Create one with `qaagent init`, or name it with --config PATH."
    )


def _refuse_unusable(candidate: Path) -> None:
    """Anything but a file under a profile's name is a mistake, not a reason to look higher."""
    if candidate.is_dir():
        raise ConfigError(f"{candidate} is a folder, not a profile file; rename or remove it.")
    if candidate.exists():
        raise ConfigError(
            f"{candidate} is {_file_kind(candidate)}, not a profile file; rename or remove it."
        )
    if candidate.is_symlink():
        raise ConfigError(
            f"{candidate} is a link to {candidate.readlink()} that cannot be followed."
        )


def _file_kind(path: Path) -> str:
    """What a path that is neither a file nor a folder is, in words."""
    mode = path.stat().st_mode
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def load_profile(
    config: Path | None = None,
    *,
    start: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cli_overrides: Mapping[str, Any] | None = None,
) -> LoadedProfile:
    """Load and validate a profile; precedence is CLI > environment > file > defaults."""
    path = find_profile(config, start or Path.cwd())
    raw = _read(path)
    document = _parse(path, raw)
    if not isinstance(document.data, dict):
        raise ConfigError(f"{path.name}: the profile must be a mapping of sections (line 1).")
    _empty_sections_as_defaults(document.data)
    environ = environ if environ is not None else os.environ
    cli = cli_overrides or {}
    sources = _run_sources(document.data, environ, cli)
    origins = _apply_overrides(document.data, environ, cli)
    problems = [
        (loc, "key appears twice; only the last value would count")
        for loc, _ in document.duplicates
    ]
    profile = _validate(document.data, problems)
    suites: list[SuiteSpec] = []
    notices: list[str] = []
    if profile is not None:
        problems.extend(profile.reference_problems())
        plan = resolve_suites(profile, path.parent, environ)
        problems.extend(plan.problems)
        suites, notices = plan.suites, plan.notices
    if problems or profile is None:
        raise ConfigError(_describe(path, document, problems, origins))
    loaded = LoadedProfile(path, profile, suites, notices, hashlib.sha256(raw).hexdigest(), sources)
    warning = _runs_dir_warning(loaded, origins.get(("run", "runs_dir")))
    if warning is not None:
        print(f"qaagent: warning: {warning}", file=sys.stderr)
    return loaded


def _runs_dir_warning(loaded: LoadedProfile, origin: str | None) -> str | None:
    """Runs written to the file system root or outside the project are rarely meant."""
    runs_dir = Path(os.path.normpath(loaded.root / loaded.profile.run.runs_dir))
    source = f" (from {origin})" if origin else ""
    if runs_dir == Path(runs_dir.anchor):
        return f"run.runs_dir{source} is the file system root {runs_dir}; runs are written there."
    if not runs_dir.is_relative_to(loaded.root):
        return (
            f"run.runs_dir{source} is {runs_dir}, outside the project folder {loaded.root}; "
            "runs are written and pruned there."
        )
    return None


def _read(path: Path) -> bytes:
    """The profile's bytes; opened without blocking, so a FIFO put in its place cannot hang qaagent."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror}).") from None
    with os.fdopen(descriptor, "rb") as stream:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise ConfigError(f"{path} is not a regular file, so it cannot be a profile.")
        try:
            return stream.read()
        except OSError as error:
            raise ConfigError(f"{path}: cannot be read ({error.strerror}).") from None


def _parse(path: Path, raw: bytes) -> YamlDocument:
    try:
        return parse_yaml(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ConfigError(f"{path.name}: not UTF-8 text (line {line}).") from None
    except YamlExpansionError as error:
        raise ConfigError(
            f"{path.name} is refused: {error.problem} ({path.name}, line {error.line})."
        ) from None
    except YamlSyntaxError as error:
        where = f"{path.name}, line {error.line}" if error.line else path.name
        raise ConfigError(f"{path.name} is not valid YAML: {error.problem} ({where}).") from None


def _empty_sections_as_defaults(data: dict[str, Any]) -> None:
    """A section whose entries are all commented out (`tests:`) means the defaults, and is there."""
    for name in QAAGENT_SECTIONS:
        if name in data and data[name] is None:
            data[name] = {}


def _apply_overrides(
    data: dict[str, Any], environ: Mapping[str, str], cli: Mapping[str, Any]
) -> dict[Location, str]:
    """Write overrides into the raw data and remember where each came from."""
    run = data.setdefault("run", {})
    if not isinstance(run, dict):
        return {}
    origins: dict[Location, str] = {}
    for opt in RUN_OPTIONS:
        from_environment = opt.env_value(environ)
        if from_environment is not None:
            run[opt.name] = from_environment
            origins[("run", opt.name)] = f"environment variable {opt.env_var}"
        if cli.get(opt.name) is not None:
            run[opt.name] = cli[opt.name]
            origins[("run", opt.name)] = f"option {opt.option_name}"
    return origins


def _run_sources(
    data: dict[str, Any], environ: Mapping[str, str], cli: Mapping[str, Any]
) -> dict[str, str]:
    """Where each run setting's value comes from, read before the overrides are written in."""
    run = data.get("run")
    profile_keys = set(run) if isinstance(run, dict) else set()
    return {opt.name: source_of(opt, cli, environ, profile_keys) for opt in RUN_OPTIONS}


def _validate(data: dict[str, Any], problems: list[tuple[Location, str]]) -> QAAgentProfile | None:
    """Validate the whole file at once, collecting every field error."""
    try:
        return QAAgentProfile.model_validate(data)
    except ValidationError as error:
        grouped: dict[Location, list[ErrorDetails]] = {}
        for detail in error.errors():
            location = _data_location(data, detail["loc"], missing=detail["type"] == "missing")
            grouped.setdefault(location, []).append(detail)
        problems.extend(
            (location, _explain(details, location)) for location, details in grouped.items()
        )
        return None


def _data_location(data: Any, loc: tuple[str | int, ...], *, missing: bool) -> Location:
    """Cut pydantic's location down to the part that exists in the data (drops union tags)."""
    kept: list[str | int] = []
    node = data
    for part in loc:
        if not _has_part(node, part):
            if missing and isinstance(node, dict):
                kept.append(part)
            break
        node = node[part]
        kept.append(part)
    return tuple(kept)


def _has_part(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and part < len(node)


EXPECTED = {
    "bool_parsing": "a boolean (true or false)",
    "bool_type": "a boolean (true or false)",
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "string_type": "a text value",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _explain(details: list[ErrorDetails], location: Location) -> str:
    """Pydantic's errors at one field as a sentence a user acts on; a union's are joined by 'or'."""
    first = details[0]
    if first["type"] == "extra_forbidden":
        return "unknown key" + _suggestion(str(location[-1]), _allowed_keys(location[:-1]))
    if first["type"] == "missing":
        return "required field is missing"
    got = f"got {_shown_value(first['input'])}"
    if len(details) == 1:
        return f"{_expectation(first)}, {got}"
    alternatives = [_as_alternative(_expectation(detail)) for detail in details]
    return f"expected {' or '.join(alternatives)}, {got}"


def _as_alternative(expectation: str) -> str:
    """`expected an integer` → `an integer`, `must be > 0` → `a number > 0`, joined by 'or'."""
    return expectation.removeprefix("expected ").replace("must be ", "a number ", 1)


def _expectation(detail: ErrorDetails) -> str:
    """What one pydantic error asked for: `expected a boolean`, `must be > 0`."""
    kind = detail["type"]
    ctx = detail.get("ctx", {})
    if kind in EXPECTED:
        return f"expected {EXPECTED[kind]}"
    if kind == "literal_error":
        expected = str(ctx.get("expected"))
        return f"expected one of {expected}" if " or " in expected else f"expected {expected}"
    if kind in ("greater_than", "greater_than_equal"):
        bound = ctx.get("gt", ctx.get("ge"))
        return f"must be {'>' if kind == 'greater_than' else '>='} {bound}"
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    return detail["msg"]


def _allowed_keys(location: Location) -> list[str]:
    """Field names of the model that sits at `location` in the profile."""
    model: type[BaseModel] = QAAgentProfile
    for part in location:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(str(part))
        if info is None:
            # a free-form mapping such as suites.<name> or app.<env>: take the value model
            continue
        annotation = info.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return []
        model = nested[0]
    return list(model.model_fields)


def _suggestion(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (allowed: {', '.join(allowed)})" if allowed else ""


def _shown_value(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:
        return repr(value)


def _describe(
    path: Path,
    document: YamlDocument,
    problems: list[tuple[Location, str]],
    origins: dict[Location, str],
) -> str:
    """All problems of one profile, one line each, each naming its field and line."""
    lines = [
        _problem_line(path, document, location, message, origins) for location, message in problems
    ]
    if len(lines) == 1:
        return f"{path.name} is invalid: {lines[0]}"
    return f"{path.name} has {len(lines)} problems:\n  " + "\n  ".join(lines)


def _problem_line(
    path: Path,
    document: YamlDocument,
    location: Location,
    message: str,
    origins: dict[Location, str],
) -> str:
    field_path = dotted(location) or "(top level)"
    origin = origins.get(location[:2])
    if origin is not None:
        return f"{field_path}: {message} (from {origin})"
    line = document.line_of(location)
    where = f"{path.name}, line {line}" if line is not None else path.name
    return f"{field_path}: {message} ({where})"


def dotted(location: Location) -> str:
    """`("run", "suite_order", 2)` is shown as `run.suite_order[2]`."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def chosen_backend(
    settings: BackendSettings, cli: Mapping[str, Any], environ: Mapping[str, str]
) -> BackendSettings:
    """Where the run's tasks go: each of --backend, --scheduler and --dask-workers overrides
    its `QAAGENT_*` variable, which overrides the profile's `run.backend`.
    """
    values: dict[str, Any] = settings.model_dump()
    for opt, key in ((BACKEND, "kind"), (SCHEDULER, "scheduler"), (DASK_WORKERS, "workers")):
        value = cli.get(opt.name)
        values[key] = value if value is not None else opt.env_value(environ) or values[key]
    try:
        chosen = BackendSettings.model_validate(values)
    except ValidationError as error:
        problem = error.errors()[0]
        raise ConfigError(
            f"The backend {problem['loc'][0]} {problem['input']!r} cannot be used: {problem['msg']} "
            f"(from {BACKEND.flag}, {SCHEDULER.flag}, {DASK_WORKERS.flag}, their QAAGENT_* "
            "variables or run.backend)."
        ) from None
    if chosen.kind == "dask" and chosen.scheduler is None:
        raise ConfigError(
            f"The dask backend needs its scheduler's address: give {SCHEDULER.flag} "
            f"tcp://host:8786, {SCHEDULER.env_var} or run.backend.scheduler."
        )
    return chosen
