"""linkshelf: the team's shared bookmarks."""

from linkshelf.app import create_app

__all__ = ["create_app"]
