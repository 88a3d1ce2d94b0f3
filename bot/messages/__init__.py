"""Where user-facing strings live: one module per surface or concept, each sentence a small function.

    slack      the Slack surface (progress, mentions, slash commands, help, shortcuts, App Home, agent pane, feedback)
    agent      the tool loop (no model key, limits, model errors, misconfiguration, outages, recovered turns)
    approvals  Approve / Cancel (the action in words, the request, outcomes, refused clicks)
    admin      the configuration modal, the policy check's field errors, the MCP servers section and trust changes
    schedules  digests and reminders (`/chatops digest`, the editor, the Schedules section, failed runs)
    digests    the digest's own text (title, headline, tag words, footer, reminder lines)
    tools      what ticket tools answer when they cannot
    cli        what operators read in a terminal (`chatops run`, `doctor`, `shell`)

A sentence the bot says to a person (a reply, a notice, an error, a DM, a field error) lives here, also when it has
one caller, so the wording can be read and reviewed in one place. Labels, hints, titles and button texts of a Block
Kit view stay in the module that lays the view out, and model-facing text stays with the prompts and tool
descriptions. Callers import the module of their concept (`from bot.messages import schedules as schedule_text`).
"""
