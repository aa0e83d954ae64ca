"""A space in the formats other optimisers speak: ConfigSpace, Optuna, syne-tune.

Every export is built from the space's categorical view (``space.decisions()``), so it
works for NB201, NB101 and any user space. Each decision becomes one categorical
parameter named ``"<index> <decision name>"`` (``"00 edge 0->1"``): the two-digit index
keeps names unique when a user space repeats a decision name, and keeps the decision
order where a library sorts parameters by name (ConfigSpace does). The choices are the
option names, so a configuration reads as the architecture it spells.

A configuration (a mapping parameter name -> option name) comes back as an
architecture with :func:`from_config`. Constraints the formats cannot state (an NB101
cell must connect input to output with at most 9 edges) are checked there: such a
configuration raises ``InvalidArchError``, which an optimiser should be told as a failed
trial, as the built-in Optuna strategies do.

ConfigSpace and Optuna are imported inside the functions that need them; syne-tune is
never imported: :func:`to_syne_tune` returns the JSON form that
``syne_tune.config_space.config_space_from_json_dict`` turns into syne-tune domains.

The functions take a ``SearchSpace`` (``nasbench_suite.spaces.base``); the methods of the
same names on ``SearchSpace`` call them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nasbench_suite.errors import MalformedArchError, NasbenchError


class ExportError(NasbenchError, ImportError):
    """The library an export builds objects of is not installed (the message says how to get it)."""


def parameter_names(space: Any) -> list[str]:
    """One parameter name per decision of ``space``, in decision order (``"00 edge 0->1"``)."""
    return [f"{i:02d} {d.name}" for i, d in enumerate(space.decisions())]


def to_config(space: Any, arch: Any) -> dict[str, str]:
    """``arch`` (a value or its text form) as a configuration: parameter name -> option name.

    Raises:
        MalformedArchError: ``arch`` is not an architecture of ``space``.
    """
    codes = space.to_codes(arch)
    decisions = space.decisions()
    return {n: d.options[c] for n, d, c in zip(parameter_names(space), decisions, codes, strict=True)}


def from_config(space: Any, config: Mapping[str, Any]) -> Any:
    """The architecture a configuration spells (a mapping parameter name -> option name, as
    ConfigSpace, Optuna and syne-tune return it; a ``ConfigSpace.Configuration`` works too).

    Raises:
        MalformedArchError: a parameter is missing or an option is not one of its choices.
        InvalidArchError: the configuration spells no valid architecture of the space.
    """
    codes = []
    for name, decision in zip(parameter_names(space), space.decisions(), strict=True):
        try:
            value = config[name]
        except KeyError:
            raise MalformedArchError(space.name, dict(config), f"no value for parameter {name!r}") from None
        if str(value) not in decision.options:
            raise MalformedArchError(
                space.name, dict(config), f"{value!r} is not a choice of {name!r} ({list(decision.options)})"
            )
        codes.append(decision.options.index(str(value)))
    return space.from_codes(codes)


def to_configspace(space: Any, seed: int | None = None) -> Any:
    """``space`` as a ``ConfigSpace.ConfigurationSpace`` of categorical hyperparameters (what
    SMAC, BOHB, DEHB, HPOBench and YAHPO read), each choice weighted equally.

    Args:
        space: a ``SearchSpace``.
        seed: the seed of the configuration space's own sampler (``sample_configuration``).

    Raises:
        ExportError: ConfigSpace is not installed (``pip install 'nasbench-suite[configspace]'``).
    """
    try:
        import ConfigSpace
    except ImportError:
        raise ExportError(
            "to_configspace needs ConfigSpace: pip install 'nasbench-suite[configspace]'"
        ) from None
    cs = ConfigSpace.ConfigurationSpace(name=space.name, seed=seed)
    cs.add(
        [
            ConfigSpace.CategoricalHyperparameter(name, list(d.options))
            for name, d in zip(parameter_names(space), space.decisions(), strict=True)
        ]
    )
    return cs


def to_optuna(space: Any) -> dict[str, Any]:
    """``space`` as an Optuna search space: parameter name -> ``CategoricalDistribution``
    of the option names (for ``study.ask(fixed_distributions)``).

    Raises:
        ExportError: Optuna is not installed.
    """
    optuna = _optuna()
    return {
        name: optuna.distributions.CategoricalDistribution(list(d.options))
        for name, d in zip(parameter_names(space), space.decisions(), strict=True)
    }


def suggest(trial: Any, space: Any) -> Any:
    """Define-by-run: suggest every decision on an Optuna ``trial`` and return the architecture.

    Raises:
        InvalidArchError: the suggested options spell no valid architecture (tell the trial
            as failed: ``study.tell(trial, state=optuna.trial.TrialState.FAIL)``).
    """
    config = {
        name: trial.suggest_categorical(name, list(d.options))
        for name, d in zip(parameter_names(space), space.decisions(), strict=True)
    }
    return from_config(space, config)


def to_syne_tune(space: Any) -> dict[str, dict[str, Any]]:
    """``space`` as syne-tune's JSON form of a config space: parameter name ->
    ``{"domain_cls": "Categorical", "domain_kwargs": {"categories": [...]}}``.

    Plain data (syne-tune pulls statsmodels and more, so it is not a dependency):
    ``syne_tune.config_space.config_space_from_json_dict(to_syne_tune(space))`` gives the
    dict of ``choice`` domains a syne-tune scheduler takes.
    """
    return {
        name: {"domain_cls": "Categorical", "domain_kwargs": {"categories": list(d.options)}}
        for name, d in zip(parameter_names(space), space.decisions(), strict=True)
    }


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise ExportError("the Optuna export needs optuna: pip install 'optuna>=3.5'") from None
    return optuna


__all__ = [
    "ExportError",
    "from_config",
    "parameter_names",
    "suggest",
    "to_config",
    "to_configspace",
    "to_optuna",
    "to_syne_tune",
]
