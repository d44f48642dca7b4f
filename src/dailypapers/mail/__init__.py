"""Outgoing mail: through SMTP when `DAILYPAPERS_SMTP_URL` is set, else as .eml files in the data dir."""
