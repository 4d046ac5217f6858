"""The cost index answers as the plain definitions do (a filter *may* price an entry when their
values meet on every key both name; it *surely* prices it when the entry's values for each of
the filter's keys are inside the filter's), on generated filters and cost entries."""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import given, settings
from hypothesis import strategies as st

from lagoform.catalog.models_charge import WILDCARD
from lagoform.catalog.models_policy import CostEntry
from lagoform.model.filters import ALL_FILTER_VALUES
from lagoform.policies.costs import CostIndex

KEYS = {"model": ["m1", "m2", "m3"], "type": ["input", "output"], "modality": ["text", "audio"]}


def _may(values: Mapping[str, list[str]], entry: CostEntry) -> bool:
    for key, allowed in values.items():
        theirs = entry.values.get(key)
        if ALL_FILTER_VALUES in allowed or theirs is None or WILDCARD in theirs:
            continue
        if not set(theirs) & set(allowed):
            return False
    return True


def _surely(values: Mapping[str, list[str]], entry: CostEntry) -> bool:
    for key, allowed in values.items():
        if ALL_FILTER_VALUES in allowed:
            continue
        theirs = entry.values.get(key)
        if theirs is None or WILDCARD in theirs or not set(theirs) <= set(allowed):
            return False
    return True


def _values(wildcard: str) -> st.SearchStrategy[dict[str, list[str]]]:
    def one(key: str) -> st.SearchStrategy[list[str]]:
        return st.one_of(
            st.just([wildcard]), st.lists(st.sampled_from(KEYS[key]), min_size=1, unique=True)
        )

    return st.lists(st.sampled_from(sorted(KEYS)), min_size=1, unique=True).flatmap(
        lambda keys: st.fixed_dictionaries({k: one(k) for k in keys})
    )


ENTRIES = st.lists(_values(WILDCARD), min_size=1, max_size=8).map(
    lambda items: [CostEntry(values=v, cost=1) for v in items]
)
FILTERS = st.lists(_values(ALL_FILTER_VALUES), max_size=6)


@settings(max_examples=200, deadline=None)
@given(entries=ENTRIES, filters=FILTERS)
def test_the_index_agrees_with_the_definitions(
    entries: list[CostEntry], filters: list[dict[str, list[str]]]
) -> None:
    index = CostIndex(entries)
    for values in filters:
        assert index.may(values) == [e for e in entries if _may(values, e)]
        assert index.surely(values) == {i for i, e in enumerate(entries) if _surely(values, e)}
    assert index.uncovered(filters) == [
        e for e in entries if not any(_surely(f, e) for f in filters)
    ]
