"""The only code that starts or ends an OS process: commands, the app, collection, the watchdog.

Nothing here imports another qaagent package but secret masking, so every stage can start a
process the same way and none can leave one behind.
"""
