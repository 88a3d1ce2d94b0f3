"""What every part of the bot may know about Slack's Web API without being the Slack surface: the failures a call
can end in, and the error code of one (failures.py). The sanitizing client itself is bot/slack_api/client.py."""
