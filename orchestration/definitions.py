"""The Dagster code location: assembled from the small modules beside this one."""

from __future__ import annotations

import dagster as dg

defs = dg.Definitions(assets=[])
