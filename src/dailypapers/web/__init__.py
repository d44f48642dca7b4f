"""The web: server-rendered pages, the Hugging Face-shaped JSON API and Atom feeds."""
