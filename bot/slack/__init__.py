"""Slack: the chatbot channel and the staff triage desk."""
