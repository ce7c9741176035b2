"""Every docstring example of the package runs and prints what it shows."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest
import torch

import semgaug_sk

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(semgaug_sk.__path__, prefix="semgaug_sk.")
    if not info.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny example models; avoid oversubscribing under xdist
    try:
        result = doctest.testmod(
            module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
        )
    finally:
        torch.set_num_threads(previous)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed"
