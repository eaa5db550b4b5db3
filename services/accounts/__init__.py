"""Accounts, roles and sign-in (issue #16): who may act is data in the log."""
