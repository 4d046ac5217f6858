"""lagoform.github: the GitHub Action's entry point (``python -m lagoform.github <mode>``).

Modes: ``pr`` (validate, plan, sticky comment, summary, annotations), ``apply`` (apply on merge
as the person who merged, summary of what was and was not applied) and ``drift`` (one issue
open while Lago differs from the default branch). ``runner`` reads and writes the runner's
environment, ``rest`` and ``sticky`` talk to GitHub's REST API, ``commands`` runs lagoform
itself, ``steps`` and ``report`` are shared by the modes. Needs the ``github`` extra
(github-action-toolkit); nothing else in lagoform imports this package.
"""
