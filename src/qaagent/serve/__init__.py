"""`qaagent serve`: executions of profiles under a root folder, queued durably and run as children.

The queue is a SQLite table (`store`), the scheduler starts each execution as a child
`qaagent run-all --events jsonl=…` (`runner`), and the HTTP API (`api`) queues, follows and
cancels them. Nothing below the commands imports this package.
"""
