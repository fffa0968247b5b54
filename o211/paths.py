"""Where the product keeps its files. Resolved on call, never at import time."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from o211.kinds import KINDS

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


@dataclass(frozen=True)
class DataPaths:
    """The folders of one data directory (`operations.md`, "Data directory")."""

    root: Path

    @classmethod
    def from_env(cls) -> DataPaths:
        return cls(Path(os.environ.get("O211_DATA_DIR", "data")).expanduser().resolve())

    def inbox(self, kind: str) -> Path:
        return self.root / "inbox" / kind

    def archive(self, kind: str) -> Path:
        return self.root / "archive" / kind

    def rejected(self, kind: str) -> Path:
        return self.root / "rejected" / kind

    @property
    def warehouse_dir(self) -> Path:
        return self.root / "warehouse"

    @property
    def warehouse(self) -> Path:
        return self.warehouse_dir / "o211.duckdb"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def blocklist(self) -> Path:
        return self.config / "blocklist.csv"

    @property
    def pii_key_file(self) -> Path:
        return self.root / ".pii_key"

    @property
    def dagster_home(self) -> Path:
        """The default Dagster instance of this data directory (its partitions, runs, cursors)."""
        return self.root / ".dagster"

    def ensure(self) -> DataPaths:
        """Create every folder the product writes to; existing files are never touched.

        The data directory holds caller numbers in clear (archive, rejected): its folders are
        the owner's only (0700), whatever the umask of whoever runs this.
        """
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.root.stat().st_uid == os.getuid():
            self.root.chmod(0o700)
        for kind in KINDS:
            for folder in (self.inbox(kind), self.archive(kind), self.rejected(kind)):
                folder.parent.mkdir(mode=0o700, exist_ok=True)
                folder.mkdir(mode=0o700, exist_ok=True)
        for folder in (self.warehouse_dir, self.outbox, self.config):
            folder.mkdir(mode=0o700, exist_ok=True)
        return self

    def export_to_environment(self) -> None:
        """Publish the absolute data directory for the dbt subprocess.

        dbt runs with the dbt project as its working directory, so a relative `O211_DATA_DIR`
        (or none) would point its profile at a different warehouse than the one Python uses.
        """
        os.environ["O211_DATA_DIR"] = str(self.root)
        os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
