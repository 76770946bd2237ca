"""What people do, through Slack or the admin API: `commands` (the /postmortem verbs and
buttons), `followups` (follow-ups added, and what trackers report about them) and
`transitions` (the lifecycle moves with their guards and the audit)."""
