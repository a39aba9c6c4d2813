"""Parts a user adds from their own modules: a learner family, an institution, a reward bias, a metric.

Such a module registers its parts when imported (models.games.register_*, models.learners.register_learner).
A study names its modules (`[study] extensions = ["my_lab.journal"]`), and every process that plans or runs
the study imports them first: the driver and each worker, which see nothing of the driver's registrations.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from models.params import ConfigError


def load_extensions(modules: Iterable[str]) -> None:
    """Import each module (once per process: a module registers its parts when first imported)."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise ConfigError(
                f"study.extensions names {name!r}, which cannot be imported here ({error}): allowed are "
                "modules importable from the working directory or the installed packages."
            ) from None


def check_extension_names(value: object) -> list[str]:
    """A study's `extensions` setting: a list of module names, or ConfigError."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(
            f"study.extensions = {value!r} is not allowed: give a list of module names, such as "
            '["my_lab.journal"].'
        )
    return value
