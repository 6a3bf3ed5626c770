"""Wiring: the loader's dry-run hook (`content_loader.impact`) gets the progress counter."""

import sys
import types

from django.apps import apps

import content_loader
from progress.queries import count_learners_with_progress


def test_registers_the_progress_counter_with_the_loaders_impact_module(monkeypatch):
    """ProgressConfig.ready() hands count_learners_with_progress to content_loader.impact."""
    registered = []
    impact = types.ModuleType("content_loader.impact")
    impact.register_progress_counter = registered.append
    monkeypatch.setitem(sys.modules, "content_loader.impact", impact)
    monkeypatch.setattr(content_loader, "impact", impact, raising=False)

    apps.get_app_config("progress").ready()

    assert registered == [count_learners_with_progress]
