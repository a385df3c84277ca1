"""Exit codes and the user-facing errors that map onto them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of `qaagent`, an interface CI systems rely on."""

    OK = 0
    TESTS_FAILED = 1
    USAGE_ERROR = 2
    INFRASTRUCTURE_ERROR = 3
    INTERRUPTED = 130


class QAAgentError(Exception):
    """An error shown to the user as one paragraph, without a traceback."""

    exit_code: ExitCode = ExitCode.USAGE_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(QAAgentError):
    """The profile cannot be found, read or validated."""

    exit_code = ExitCode.USAGE_ERROR


class UsageError(QAAgentError):
    """A command line or environment value that cannot be used."""

    exit_code = ExitCode.USAGE_ERROR


class InfrastructureError(QAAgentError):
    """Something qaagent needs around the run (a cluster, the disk) is not there."""

    exit_code = ExitCode.INFRASTRUCTURE_ERROR
