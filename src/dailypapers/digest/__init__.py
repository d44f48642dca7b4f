"""Email digests: double opt-in subscriptions, composing a period's digest, delivering it exactly once."""
