"""Assertions shared by the bad-input test files."""

from __future__ import annotations

import warnings

import pytest


def raises(call, exc, match, who=None):
    """Assert ``call()`` raises ``exc`` with a message matching ``match`` and naming ``who``."""
    with pytest.raises(exc, match=match) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tiny fits may warn (e.g. no validation split)
            call()
    message = str(info.value)
    if who is not None:
        assert who in message, f"the message does not come from {who}: {message}"
    return message
