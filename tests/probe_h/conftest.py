from tests.benefits.conftest import *  # noqa: F401,F403  (the benefits fixtures: sims, systems, desk, providers)
