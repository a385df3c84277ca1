"""The profile `qaagent init` writes: valid YAML whatever the folder is called."""

import pytest
import yaml

from qaagent.commands.init_cmd import render_profile


@pytest.mark.parametrize("folder", ["2024", "yes", "null", "a: b", "#team", "[x]", "*star", "it's"])
def test_the_project_name_is_the_folder_name_whatever_yaml_would_make_of_it(folder: str) -> None:
    written = yaml.safe_load(render_profile(folder, {}))
    assert written["project"]["name"] == folder
