"""Webhook events from the write paths' signals (filled in with the webhooks)."""
