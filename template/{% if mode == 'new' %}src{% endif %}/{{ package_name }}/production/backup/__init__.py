"""Backup and recovery: online backups, restores, and the restore drill that proves them.

The core (archive, sqlite, postgres, store, operations) knows nothing of the web framework; the
commands in commands.py put it on the service's command line. See docs/backup.md.
"""

from .archive import BackupError, Manifest
from .operations import create_backup, open_database, restore_backup, restore_drill

__all__ = [
    "BackupError",
    "Manifest",
    "create_backup",
    "open_database",
    "restore_backup",
    "restore_drill",
]
