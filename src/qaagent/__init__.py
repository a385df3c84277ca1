"""qaagent: run every test suite of a repository, in parallel, and keep the evidence."""

__version__ = "0.1.0"
