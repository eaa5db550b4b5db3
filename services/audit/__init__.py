"""The audit service: a tamper-evident hash chain over every event of every service."""
