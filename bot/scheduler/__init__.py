"""Scheduled digests, reminders and housekeeping (APScheduler), safe with several bot processes."""
