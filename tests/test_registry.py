"""The one Registry class: register, get, and errors that list the choices."""

import pytest

from ganforge.errors import ConfigError
from ganforge.registry import Registry


def test_register_and_get_both_forms():
    reg = Registry("widget")
    reg.register("b", 2)

    @reg.register("a")
    def make_a():
        return 1

    assert reg.get("a") is make_a
    assert reg.get("b") == 2
    assert reg.names() == ["a", "b"]
    assert "a" in reg and "c" not in reg
    assert len(reg) == 2


def test_unknown_name_lists_choices():
    reg = Registry("widget")
    reg.register("alpha", 1)
    reg.register("beta", 2)
    with pytest.raises(ConfigError, match=r"unknown widget 'gamma'; choose one of: alpha, beta"):
        reg.get("gamma")


def test_duplicate_registration_is_refused():
    reg = Registry("widget")
    reg.register("a", 1)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a", 2)
