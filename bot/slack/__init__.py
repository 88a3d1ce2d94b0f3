"""The Slack surface: Bolt AsyncApp wiring, listeners, rendering, approvals UI and the admin modal."""
