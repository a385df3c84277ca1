"""The execute stage: the orchestrator, its backends, the start order, the app and the events.

The only concurrent stage; each task writes only into its own folder and returns its result.
"""
