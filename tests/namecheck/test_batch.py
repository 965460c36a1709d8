"""check_batch: the columnar batch check gives what check gives, pair by pair."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from madoguchi.namecheck import (
    OUTCOME_CODES,
    REASON_CODES,
    BatchResult,
    Outcome,
    Reason,
    check,
    check_batch,
    check_many,
)
from madoguchi.namecheck.bench import generate_pairs
from madoguchi.namecheck.normalise import clear_caches

from .test_check import CASES
from .test_properties import names

EXTRA = [
    # one part against two: decided by _decide itself, not by the array steps
    ("ヤマダタロウ", "ﾔﾏﾀﾞ ｼﾞﾛｳ"),
    ("ヤマダ タロウ", "ﾔﾏﾀﾞｼﾞﾛｳ"),
    ("タロウ ヤマダ", "ﾔﾏﾀﾞ ｼﾞﾛｳ"),
    # long names: a match by score
    ("ｸﾞﾚｺﾞﾘｰ ｱﾚｸｻﾝﾀﾞｰ ﾏｸｼﾐﾘｱﾝ ｳｨﾘｱﾑｽﾞ", "ｸﾞﾚｺﾞﾘｰ ｱﾚｸｻﾝﾀﾞｰ ﾏｸｼﾐﾘｱ ｳｨﾘｱﾑｽﾞ"),
    ("ｸﾞﾚｺﾞﾘｰｱﾚｸｻﾝﾀﾞｰﾏｸｼﾐﾘｱﾝ", "ｸﾞﾚｺﾞﾘｰｱﾚｸｻﾝﾀﾞｰﾏｸｼﾐﾘｱ"),
    # a company on both sides, and a company name that is empty once its form is removed
    ("ｶ)ﾔﾏﾀﾞｼﾖｳｼﾞ", "ｶ)ﾔﾏﾀﾞｼﾖｳｼﾞ"),
    ("ｶ)ﾔﾏﾀﾞｼﾖｳｼﾞ", "ｶ)ﾔﾏﾀﾞｼﾖｳｼﾝ"),
    ("株式会社", "株式会社"),
    ("ヤマダ タロウ", "株式会社"),
    ("", ""),
    ("", None),
    # three parts, and kanji against kanji that are not variants
    ("ヤマダ タロウ ジロウ", "ﾔﾏﾀﾞ ﾀﾛｳ ｻﾌﾞﾛｳ"),
    ("山田 太郎", "山田 次郎"),
]


def assert_agrees(pairs):
    residents = [r for r, _ in pairs]
    accounts = [a for _, a in pairs]
    batch = check_batch(residents, accounts)
    assert len(batch) == len(pairs)
    for i, (resident, account) in enumerate(pairs):
        expected = check(resident, account)
        assert (batch.outcome(i), batch.reason(i), batch.score(i)) == (
            expected.outcome,
            expected.reason,
            expected.score,
        ), (resident, account)
        assert OUTCOME_CODES[batch.outcome_codes[i]] is expected.outcome
        assert REASON_CODES[batch.reason_codes[i]] is expected.reason
        assert batch.result(i) == expected
    return batch


def test_every_case_agrees_with_check_in_any_order_and_repetition():
    pairs = [(r, a) for r, a, _, _ in CASES] + EXTRA
    batch = assert_agrees(pairs * 2 + pairs[::-1])
    assert {batch.reason(i) for i in range(len(batch))} == set(Reason)
    assert {batch.outcome(i) for i in range(len(batch))} == set(Outcome)


def test_realistic_generated_pairs_agree_with_check():
    clear_caches()
    assert_agrees(generate_pairs(6000, seed=11))


def test_codes_are_compact_arrays_and_counts_add_up():
    pairs = generate_pairs(3000, seed=3)
    batch = check_batch([r for r, _ in pairs], [a for _, a in pairs])
    assert isinstance(batch, BatchResult)
    assert batch.outcome_codes.dtype == np.uint8
    assert batch.reason_codes.dtype == np.uint8
    assert batch.scores.dtype == np.float64
    counts = batch.counts()
    assert sum(counts.values()) == 3000
    expected = {o: 0 for o in Outcome}
    for resident, account in pairs:
        expected[check(resident, account).outcome] += 1
    assert counts == expected
    blocked = batch.indices(Outcome.NO_MATCH)
    assert len(blocked) == expected[Outcome.NO_MATCH]
    assert all(check(*pairs[i]).blocked for i in blocked)
    assert all(batch.result(i) == check(*pairs[i]) for i in blocked)


def test_close_pairs_show_their_own_account_name():
    batch = check_batch(["ヤマダ タロウ", "ヤマダ タロウ"], [" ﾔﾏﾀﾞ ｼﾞﾛｳ", "ヤマダ ジロウ "])
    assert [batch.result(i).account_display for i in range(2)] == ["ﾔﾏﾀﾞ ｼﾞﾛｳ", "ヤマダ ジロウ"]
    assert [r.account_display for r in batch] == ["ﾔﾏﾀﾞ ｼﾞﾛｳ", "ヤマダ ジロウ"]


def test_results_share_one_object_per_distinct_raw_pair():
    pairs = [("やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ"), ("ヤマダ タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ")] * 3
    results = check_batch([r for r, _ in pairs], [a for _, a in pairs]).results()
    assert results == [check(r, a) for r, a in pairs]
    assert results[0] is results[2] is results[4]
    assert results[0] is not results[1]  # different raw pairs (and reasons may differ)


def test_empty_batch():
    batch = check_batch([], [])
    assert len(batch) == 0
    assert batch.results() == []
    assert batch.counts() == {o: 0 for o in Outcome}
    assert check_many([]) == []


def test_columns_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="one account name per resident: got 2 residents"):
        check_batch(["ヤマダ タロウ", "サトウ ハナコ"], ["ﾔﾏﾀﾞ ﾀﾛｳ"])


# Names drawn from a small pool so that the batch sees repeats on both sides, equal raw
# strings on both sides and several spellings of one name.
pools = st.lists(names, min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(pools, st.data())
def test_check_batch_agrees_with_check_pair_by_pair(pool, data):
    accounts_pool = [*pool, None]
    pairs = data.draw(
        st.lists(st.tuples(st.sampled_from(pool), st.sampled_from(accounts_pool)), max_size=30)
    )
    residents = [r for r, _ in pairs]
    accounts = [a for _, a in pairs]
    batch = check_batch(residents, accounts)
    for i, (resident, account) in enumerate(pairs):
        expected = check(resident, account)
        assert (batch.outcome(i), batch.reason(i), batch.score(i)) == (
            expected.outcome,
            expected.reason,
            expected.score,
        )
        assert batch.result(i) == expected
    assert batch.results() == [check(r, a) for r, a in pairs]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(names, st.text(max_size=20), st.none()), max_size=8))
def test_word_by_word_first_steps_equal_analyse_on_any_text(texts):
    # check_batch runs NFKC and the translation table once per word; on any text, including
    # combining marks next to spaces, the result must be analyse's.
    from madoguchi.namecheck.batch import _analyse_names
    from madoguchi.namecheck.normalise import analyse

    assert list(_analyse_names(texts)) == [analyse(t if t is not None else "") for t in texts]


def test_word_by_word_first_steps_across_spaces():
    from madoguchi.namecheck.batch import _analyse_names
    from madoguchi.namecheck.normalise import analyse

    tricky = ["ｶ ﾞ", "か\u3000\u3099ﾀ", "ﾔﾏﾀﾞ  ﾀﾛｳ", " ｶﾞ ", "e \u0301", "\u3000", "ヤ゛マ ゜ダ"]
    assert list(_analyse_names(tricky)) == [analyse(t) for t in tricky]
