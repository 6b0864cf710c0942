"""The service's package. Start it with the `serve` command; see README.md."""
