"""The installed release's version (pyproject.toml's), for what operators read: the MCP
server's serverInfo and the genesis_build_info metric at /metrics (infra.scrape)."""

import importlib.metadata

try:
    VERSION = importlib.metadata.version("genesis-console")
except importlib.metadata.PackageNotFoundError:  # run from a checkout without installing
    VERSION = "0+unknown"
