"""依申请公开 — information requests: registration, deadlines, replies (DOMAIN.md §2)."""
