"""Webhooks: per-namespace subscriptions, an outbox written in the change's own transaction, and the worker
that delivers it (Standard Webhooks signatures, retries with exponential backoff, a delivery log)."""
