"""Static analysis of migration SQL: statement facts now; rules and lint later (issue 3)."""
