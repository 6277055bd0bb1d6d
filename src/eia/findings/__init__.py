"""Findings: every judgement a reader sees, computed once from an assessment (issue 23)."""
