"""The `dailypapers` command (`main.app`): each subcommand a thin wrapper over one package."""
