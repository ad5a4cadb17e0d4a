"""Reference data shared by every service (not business rules)."""
