"""The personal layer (docs/personal.md): what a signed-in reader keeps and follows, the library they
import, the "for you" ranking learned from all of it, and their data (export, deletion).

A use case above `accounts`, `comments` and `curation` (it may use them) and below `digest`."""
