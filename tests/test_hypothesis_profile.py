"""The suite's Hypothesis profile: properties do not fail because the machine is loaded."""

from hypothesis import HealthCheck, settings


def test_a_slow_generation_or_example_is_not_a_failure():
    assert HealthCheck.too_slow in settings.default.suppress_health_check
    assert settings.default.deadline is None


def test_tests_with_their_own_health_checks_keep_the_profiles():
    from tests.identity.tokens import test_fuzz

    for test in (test_fuzz.test_validator_raises_only_token_errors_on_strings,):
        chosen = test._hypothesis_internal_use_settings  # type: ignore[attr-defined]
        assert HealthCheck.too_slow in chosen.suppress_health_check
        assert HealthCheck.function_scoped_fixture in chosen.suppress_health_check
