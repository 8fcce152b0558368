"""``CowDict`` behaves as a plain dict (order included) and its forks never share a change."""

from __future__ import annotations

import copy
import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.cowdict import CowDict

KEYS = st.integers(0, 250)
OPS = st.lists(st.tuples(st.sampled_from(["set", "set", "set", "del", "fork", "check"]),
                         st.integers(0, 20), KEYS, st.integers()), max_size=600)


def _same(mine: CowDict[int, int], model: dict[int, int]) -> None:
    assert list(mine) == list(model)
    assert list(mine.keys()) == list(model.keys())
    assert list(mine.values()) == list(model.values())
    assert list(mine.items()) == list(model.items())
    assert len(mine) == len(model) and mine == model
    for key in (0, 1, 100, 249, 251):
        assert (key in mine) == (key in model)
        assert mine.get(key) == model.get(key) and mine.get(key, -1) == model.get(key, -1)


@settings(max_examples=60, deadline=None)
@given(OPS)
def test_forks_change_apart_and_each_reads_as_its_dict(ops: list[tuple[str, int, int, int]]
                                                        ) -> None:
    """Random sets, deletes and forks over a family of copies, enough changes to merge each
    copy's delta into a new base many times: every copy reads exactly as a plain dict given
    the same changes, in the same order."""
    family: list[tuple[CowDict[int, int], dict[int, int]]] = [(CowDict(), {})]
    for op, which, key, value in ops:
        mine, model = family[which % len(family)]
        if op == "set":
            mine[key] = value
            model[key] = value
        elif op == "del" and key in model:
            del mine[key]
            del model[key]
        elif op == "fork":
            family.append((mine.fork(), dict(model)))
        else:
            _same(mine, model)
    for mine, model in family:
        _same(mine, model)


def test_a_missing_key_raises_key_error_like_a_dict() -> None:
    mine: CowDict[str, int] = CowDict({"a": 1})
    for bad in (lambda: mine["b"], lambda: mine.__delitem__("b")):
        try:
            bad()
        except KeyError:
            continue
        raise AssertionError("no KeyError")


def test_copies_pickles_and_adopted_dicts_hold_the_same_items_apart() -> None:
    base = {f"k{i}": i for i in range(500)}
    mine = CowDict.adopt(base)
    for i in range(100):
        mine[f"n{i}"] = i
    mine["k3"] = -3
    for other in (copy.copy(mine), copy.deepcopy(mine), pickle.loads(pickle.dumps(mine))):
        assert isinstance(other, CowDict)
        assert list(other.items()) == list(mine.items())
        other["k3"] = 99
        assert mine["k3"] == -3


def test_values_and_items_read_changed_and_added_keys_in_dict_order() -> None:
    """Walking a map with changes but no deletes (the units on every alarm) gives each key's
    newest value in the dict's order: the base's keys first, then the added ones."""
    mine: CowDict[str, int] = CowDict({"a": 1, "b": 2, "c": 3})
    model = {"a": 1, "b": 2, "c": 3}
    for key, value in (("b", 20), ("d", 4), ("a", 10), ("e", 5), ("d", 40)):
        mine[key] = value
        model[key] = value
        assert list(mine.values()) == list(model.values())
        assert list(mine.items()) == list(model.items())
    del mine["c"], model["c"]  # a delete of a base key: the walk skips it
    assert list(mine.values()) == list(model.values()) == [10, 20, 40, 5]
    assert list(mine.items()) == list(model.items())


def test_a_map_never_merged_walks_its_changes_in_order() -> None:
    """A map smaller than a merge (a fleet's units) lives in its changes alone; walking it gives
    them in the dict's order, and a key deleted and set again goes last."""
    mine: CowDict[str, int] = CowDict()
    model: dict[str, int] = {}
    for key, value in (("u1", 1), ("u2", 2), ("u3", 3), ("u1", 10)):
        mine[key] = value
        model[key] = value
    assert list(mine.values()) == list(model.values()) == [10, 2, 3]
    assert list(mine.items()) == list(model.items())
    del mine["u2"], model["u2"]
    mine["u2"] = model["u2"] = 20
    assert list(mine.items()) == list(model.items()) == [("u1", 10), ("u3", 3), ("u2", 20)]


def test_pop_takes_a_key_out_as_a_dict_does() -> None:
    """pop of a key of the base, of one changed since, of one deleted and of one never there
    (with and without a default), each side of a fork apart."""
    mine: CowDict[str, int] = CowDict({f"k{i}": i for i in range(100)})
    model = {f"k{i}": i for i in range(100)}
    mine["k5"] = model["k5"] = 50
    mine["new"] = model["new"] = 7
    twin = mine.fork()
    for key in ("k1", "k5", "new"):
        assert mine.pop(key) == model.pop(key)
    assert mine.pop("k1", -1) == model.pop("k1", -1) == -1
    assert mine.pop("never", None) is None
    try:
        mine.pop("k1")
    except KeyError:
        pass
    else:
        raise AssertionError("no KeyError")
    assert dict(mine.items()) == model and len(mine) == len(model)
    assert twin["k1"] == 1 and twin["k5"] == 50 and twin["new"] == 7
