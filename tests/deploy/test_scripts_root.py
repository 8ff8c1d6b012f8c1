"""scripts/ run before any virtualenv, so they find the repository themselves: where
devstack.paths says it is."""

import pytest

from devstack.paths import ROOT


@pytest.mark.parametrize("script", ["make_secrets", "devices"])
def test_scripts_find_the_repository_root(script, request):
    assert request.getfixturevalue(script).ROOT == ROOT
