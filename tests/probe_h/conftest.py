from tests.benefits.conftest import *  # noqa: F403  (the benefits fixtures: sims, systems, desk, providers)
