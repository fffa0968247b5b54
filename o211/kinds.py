"""The seven kinds of extract, in the order the product loads and lists them (extracts.md)."""

from __future__ import annotations

KINDS: tuple[str, ...] = ("calls", "chats", "emails", "texts", "surveys", "web", "finance")
