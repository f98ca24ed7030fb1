"""Telling people: events to outbox rows, message content, subscribers, account and on-call mail, delivery."""
