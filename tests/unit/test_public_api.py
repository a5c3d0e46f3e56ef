"""The public surface: every error and record importable from `portside`, cheaply."""

from __future__ import annotations

import inspect

import portside
from portside import errors


def test_every_error_class_is_exported() -> None:
    classes = {name for name, value in vars(errors).items()
               if inspect.isclass(value) and issubclass(value, errors.PortsideError)}
    assert classes <= set(portside.__all__)
    assert all(getattr(portside, name) is getattr(errors, name) for name in classes)


def test_every_name_in_all_resolves() -> None:
    assert [name for name in portside.__all__ if getattr(portside, name, None) is None] == []


def test_lazy_records_load_on_access() -> None:
    from portside.probing.runner import Attempt
    from portside.probing.wait import Waited

    assert portside.Attempt is Attempt and portside.Waited is Waited
    try:
        portside.no_such_name  # noqa: B018
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("unknown names must raise AttributeError")
