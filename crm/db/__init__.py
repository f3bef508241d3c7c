"""Database helpers any app may use (bulk COPY, batch lookups, search keys, pagination).

This package imports no app: it knows tables and querysets, not customers or addresses.
"""
