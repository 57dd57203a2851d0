"""Response timeframes: the business calendar, targets, escalation and the daily digest."""
