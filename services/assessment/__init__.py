"""考核 (assessment): schemes, real-time scoring, the task ledger."""
