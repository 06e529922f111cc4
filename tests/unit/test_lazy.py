from __future__ import annotations

from typing import Any

import pytest

from cadasta.workertoolbox._lazy import lazy_exports


def test_a_name_is_imported_on_first_access_and_kept() -> None:
    """The name comes from its module, then stays in the namespace; others raise."""
    namespace: dict[str, Any] = {"existing": 1}
    getattr_, dir_ = lazy_exports("cadasta.workertoolbox", {"Config": "conf"}, namespace)
    from cadasta.workertoolbox.conf import Config

    assert dir_() == ["Config", "existing"]
    assert getattr_("Config") is Config
    assert namespace["Config"] is Config
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        getattr_("nothing")
