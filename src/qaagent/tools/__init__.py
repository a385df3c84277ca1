"""One adapter per test tool, the attempt loop they share, and the reading of their JUnit.

Nothing here imports the engine, the commands or the reports, so a task can run its tool anywhere.
"""
