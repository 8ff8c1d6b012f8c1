"""scripts/ run before any virtualenv, so they find the repository themselves: where
devstack.paths says it is."""

import pytest

from devstack.paths import ROOT
from tests.support.tools import load_script


@pytest.mark.parametrize("script", ["make_secrets", "devices", "opcua_cert"])
def test_scripts_find_the_repository_root(script):
    assert load_script(script).ROOT == ROOT
