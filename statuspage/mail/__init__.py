"""Outgoing email: messages rendered once per notification and personalised per recipient."""
