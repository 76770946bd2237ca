"""What the effect runner calls to carry out an intent: one module per port (chat, calendar,
tracker, publish), each mapping intent kinds to performers."""
