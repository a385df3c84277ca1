"""The words every stage uses, as plain pydantic data that round-trips through JSON.

Nothing here imports another qaagent package except `qaagent.errors`, so every stage can.
"""
