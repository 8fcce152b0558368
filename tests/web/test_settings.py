"""web/settings.py: one backlog window (``MAE_BACKLOG_WINDOW``); the old second name,
``MAE_BACKLOG_EVENTS``, is still read, with a deprecation line in the log."""

from __future__ import annotations

import logging

import pytest

from web.settings import Settings


def test_the_backlog_window_defaults_to_50000_events() -> None:
    settings = Settings()
    assert settings.backlog_window == 50_000
    assert settings.backlog_events is None


def test_the_old_name_is_read_as_the_window_and_logged_as_deprecated(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("MAE_BACKLOG_EVENTS", "120000")
    with caplog.at_level(logging.WARNING, logger="web.settings"):
        settings = Settings()
    assert settings.backlog_window == 120_000
    assert "MAE_BACKLOG_EVENTS is deprecated" in caplog.text
    assert "MAE_BACKLOG_WINDOW=120000" in caplog.text


def test_the_new_name_wins_over_the_old_one(monkeypatch: pytest.MonkeyPatch,
                                            caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("MAE_BACKLOG_EVENTS", "120000")
    monkeypatch.setenv("MAE_BACKLOG_WINDOW", "7000")
    with caplog.at_level(logging.WARNING, logger="web.settings"):
        settings = Settings()
    assert settings.backlog_window == 7_000
    assert "deprecated and ignored" in caplog.text


def test_a_window_below_one_event_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="backlog_window"):
        Settings(backlog_window=0)
