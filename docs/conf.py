"""Sphinx configuration of the semgaug_sk documentation.

Build with ``sphinx-build -W --keep-going -b html docs docs/_build/html`` after
``pip install -e ".[docs]"``. The build is offline: intersphinx fetches no
inventory unless ``SEMGAUG_DOCS_INTERSPHINX=1`` is set, and the figures are
small PNGs in ``_static/figures`` (regenerate them with
``python docs/make_figures.py``).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
if importlib.util.find_spec("semgaug_sk") is None:  # building from a checkout without install
    sys.path.insert(0, str(ROOT))

import semgaug_sk  # noqa: E402

# -- project -----------------------------------------------------------------------------------
project = "semgaug_sk"
author = "semgaug_sk developers"
copyright = "semgaug_sk developers, BSD-3-Clause"  # noqa: A001
release = semgaug_sk.__version__
version = ".".join(release.split(".")[:2])

# -- extensions --------------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]
root_doc = "index"
default_role = "py:obj"  # `name` in reST links to the API reference
pygments_style = "sphinx"

# -- intersphinx: offline by default -----------------------------------------------------------
# An empty mapping means no network access at build time. Opt in to links into the
# scikit-learn, numpy, torch and skorch references with SEMGAUG_DOCS_INTERSPHINX=1.
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}
if os.environ.get("SEMGAUG_DOCS_INTERSPHINX") == "1":
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "imblearn": ("https://imbalanced-learn.org/stable", None),
        "torch": ("https://docs.pytorch.org/docs/stable", None),
        "skorch": ("https://skorch.readthedocs.io/en/stable", None),
        "joblib": ("https://joblib.readthedocs.io/en/stable", None),
        "distributed": ("https://distributed.dask.org/en/stable", None),
    }

# -- autodoc / autosummary / numpydoc ----------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # the numpydoc "Parameters" sections carry the types
autodoc_mock_imports: list[str] = []

numpydoc_show_class_members = False  # the class template lists members itself
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# Types in "Parameters"/"Returns"/"Attributes" become cross-references. Words that are
# not names are left as text; a fitted attribute such as ``embedding_dim_`` in a shape
# becomes a literal (as plain reST it would read as a hyperlink target).
numpydoc_xref_param_type = True
numpydoc_xref_ignore = set(
    """of shape or and default optional instance with the a an in same as to per for each
    from any one is at by on like its that are be not than all if when object""".split()
)
numpydoc_xref_aliases = {
    "Bunch": "sklearn.utils.Bunch",
    "Generator": "numpy.random.Generator",
    "Tensor": "torch.Tensor",
    "Figure": "matplotlib.figure.Figure",
}
if not intersphinx_mapping:
    # numpydoc's default links for these words point into the Python and numpy
    # docs (:term:/:ref: roles warn without their inventories, "python:int" shows
    # its prefix); link them as plain objects instead, rendered as literals.
    numpydoc_xref_aliases.update(
        {
            "array-like": "numpy.typing.ArrayLike",
            "array_like": "numpy.typing.ArrayLike",
            **{name: name for name in ("None", "True", "False", "bool", "int", "float", "str")},
            **{name: name for name in ("list", "tuple", "dict", "callable")},
            "boolean": "bool",
            "iterable": "collections.abc.Iterable",
            "sequence": "collections.abc.Sequence",
            "generator": "collections.abc.Generator",
            "scalar": "numpy.generic",
        }
    )


def _skip_sklearn_plumbing(app, what, name, obj, skip, options):
    """Leave scikit-learn's metadata-routing plumbing out of the class pages.

    ``set_{fit,score,...}_request`` are generated on every estimator class by
    scikit-learn and documented in its own reference.
    """
    short = name.rsplit(".", 1)[-1]
    if short.startswith("set_") and short.endswith("_request"):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_plumbing)


# -- HTML --------------------------------------------------------------------------------------
html_title = f"semgaug_sk {release}"
html_static_path = ["_static"]
html_show_sourcelink = False
if importlib.util.find_spec("pydata_sphinx_theme") is not None:
    html_theme = "pydata_sphinx_theme"
    html_theme_options = {
        "navigation_depth": 2,
        "show_toc_level": 2,
        "secondary_sidebar_items": ["page-toc"],
        "navbar_end": ["theme-switcher", "navbar-icon-links"],
    }
else:  # pragma: no cover - the docs extra installs the theme
    html_theme = "alabaster"
