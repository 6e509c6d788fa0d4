"""reshaping layers (see k2t/translate/conv.py for the conventions)."""

from __future__ import annotations
