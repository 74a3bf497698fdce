"""Kinesis Data Streams event sources (``Type: Kinesis``) on the shared stream poller."""
