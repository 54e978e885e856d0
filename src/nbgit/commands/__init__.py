"""One module per subcommand; each has `run(**options) -> exit code`."""
