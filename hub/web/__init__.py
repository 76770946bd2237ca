"""The daemon's HTTP surface beyond the webhook intake: health, metrics, admin API."""
