"""The seed papers' experiments, each a function that writes a CSV, a PNG plot and a JSON summary.

``missing_modes`` and ``corruptions`` reproduce the DDM paper's checks of the measure itself (Basart 2017);
``over_training`` evaluates every kept checkpoint of a run. The CLI front end is ``ganforge experiment``.
"""
