"""Logs, metrics and health checks shared by every service."""
