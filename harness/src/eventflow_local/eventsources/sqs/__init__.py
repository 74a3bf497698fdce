"""The SQS event source: a queue of the embedded emulator polled for a function (poller.py),
its configuration (config.py) and its event records (records.py)."""
