"""Settings: flag > environment > ./bulkdir.toml > user config file, profiles, messages, secrets hidden."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkdir.config import Settings, resolve_settings, user_dirs
from bulkdir.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


def test_user_dirs_live_under_bulkdir_home(bulkdir_home: Path) -> None:
    dirs = user_dirs()
    assert (dirs.config, dirs.data, dirs.cache) == (
        bulkdir_home / "config", bulkdir_home / "data", bulkdir_home / "cache")


def test_defaults_when_nothing_is_set(project: Path) -> None:
    settings = resolve_settings({}, env={}, cwd=project)
    assert (settings.corp_id, settings.secret, settings.base_url, settings.rate, settings.workers,
            settings.timeout) == (None, None, "https://qyapi.weixin.qq.com", 1800, 4, 15.0)


def test_precedence_flag_over_env_over_local_file_over_user_file(project: Path) -> None:
    write(user_dirs().config / "bulkdir.toml",
          'corp_id = "ww-user"\nsecret = "user-secret"\nrate = 100\nworkers = 2\ntimeout = 7\n'
          'app_secret = "user-app"\n')
    write(project / "bulkdir.toml", 'secret = "local-secret"\nrate = 200\nworkers = 3\n')
    env = {"BULKDIR_RATE": "300", "BULKDIR_WORKERS": "5"}
    settings = resolve_settings({"workers": 6, "rate": None}, env=env, cwd=project)
    assert settings.corp_id == "ww-user"  # only the user file has it
    assert settings.app_secret == "user-app"
    assert settings.timeout == 7.0
    assert settings.secret == "local-secret"  # the local file beats the user file
    assert settings.rate == 300  # the environment beats both files; a flag of None is "not given"
    assert settings.workers == 6  # the flag beats everything


def test_every_setting_has_its_environment_variable(project: Path) -> None:
    env = {"BULKDIR_CORP_ID": "ww1", "BULKDIR_SECRET": "s1", "BULKDIR_APP_SECRET": "a1",
           "BULKDIR_BASE_URL": "http://127.0.0.1:9/", "BULKDIR_RATE": "60", "BULKDIR_WORKERS": "9",
           "BULKDIR_TIMEOUT": "2.5"}
    settings = resolve_settings({}, env=env, cwd=project)
    assert settings == Settings("ww1", "s1", "a1", "http://127.0.0.1:9", 60, 9, 2.5)


def test_profiles_override_the_default_section_of_the_same_file(project: Path) -> None:
    write(project / "bulkdir.toml", """
[default]
corp_id = "ww-default"
rate = 1000

[profiles.prod]
corp_id = "ww-prod"
secret = "prod-secret"

[profiles.test]
base_url = "http://127.0.0.1:8765/cgi-bin/"
""")
    assert resolve_settings({}, env={}, cwd=project).corp_id == "ww-default"
    prod = resolve_settings({}, profile="prod", env={}, cwd=project)
    assert (prod.corp_id, prod.secret, prod.rate) == ("ww-prod", "prod-secret", 1000)
    test = resolve_settings({}, env={"BULKDIR_PROFILE": "test"}, cwd=project)
    assert test.base_url == "http://127.0.0.1:8765"  # the host root: /cgi-bin and the slash are dropped


def test_a_profile_in_the_user_file_is_found(project: Path) -> None:
    write(user_dirs().config / "bulkdir.toml", '[profiles.prod]\ncorp_id = "ww-prod"\n')
    write(project / "bulkdir.toml", 'rate = 50\n')
    settings = resolve_settings({}, profile="prod", env={}, cwd=project)
    assert (settings.corp_id, settings.rate) == ("ww-prod", 50)


def test_unknown_profile_is_a_config_error(project: Path) -> None:
    write(project / "bulkdir.toml", '[profiles.prod]\ncorp_id = "ww"\n')
    with pytest.raises(ConfigError, match=r"unknown profile 'staging'.*\[profiles.staging\]"):
        resolve_settings({}, profile="staging", env={}, cwd=project)


def test_unknown_key_in_a_file_is_named(project: Path) -> None:
    path = write(project / "bulkdir.toml", 'corpid = "ww"\n')
    with pytest.raises(ConfigError) as caught:
        resolve_settings({}, env={}, cwd=project)
    assert "'corpid'" in str(caught.value) and str(path) in str(caught.value)


def test_broken_toml_is_a_config_error(project: Path) -> None:
    write(project / "bulkdir.toml", 'corp_id = "ww\n')
    with pytest.raises(ConfigError, match="cannot read"):
        resolve_settings({}, env={}, cwd=project)


@pytest.mark.parametrize("name, variable, value", [
    ("rate", "BULKDIR_RATE", "fast"), ("rate", "BULKDIR_RATE", "0"), ("workers", "BULKDIR_WORKERS", "0"),
    ("workers", "BULKDIR_WORKERS", "1000"), ("timeout", "BULKDIR_TIMEOUT", "-1"),
    ("base_url", "BULKDIR_BASE_URL", "qyapi.weixin.qq.com"),
])
def test_invalid_values_name_where_they_came_from(project: Path, name: str, variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_settings({}, env={variable: value}, cwd=project)
    assert name in str(caught.value) and variable in str(caught.value)


@pytest.mark.parametrize("name, flag, variable", [
    ("corp_id", "--corp-id", "BULKDIR_CORP_ID"), ("secret", "--secret", "BULKDIR_SECRET"),
    ("app_secret", "--app-secret", "BULKDIR_APP_SECRET"),
])
def test_missing_setting_is_one_line_naming_flag_variable_and_key(name: str, flag: str, variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings().require(name)
    message = str(caught.value)
    assert "\n" not in message
    assert flag in message and variable in message and f"{name} = " in message
    assert str(user_dirs().config / "bulkdir.toml") in message


def test_repr_hides_secrets() -> None:
    settings = Settings(corp_id="ww1", secret="very-secret-1", app_secret="very-secret-2")
    for text in (repr(settings), str(settings), f"{settings}"):
        assert "very-secret" not in text
        assert "secret=<set>" in text and "ww1" in text
    assert "app_secret=None" in repr(Settings())


def test_an_invalid_secret_value_is_not_echoed(project: Path) -> None:
    write(project / "bulkdir.toml", "secret = 12345678\n")
    with pytest.raises(ConfigError) as caught:
        resolve_settings({}, env={}, cwd=project)
    assert "12345678" not in str(caught.value) and "secret" in str(caught.value)
