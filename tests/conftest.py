"""Shared test fixtures: the ../shared locator and the bundled data."""

import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(REPO), 'shared')
BUNDLED = os.path.join(REPO, 'datasets')
BUNDLED_SET = 'shapes.npz'


def shared_path(*parts):
  """A path under ../shared, or skip the test when that folder is absent."""
  path = os.path.join(SHARED, *parts)
  if not os.path.exists(path):
    pytest.skip('../shared/%s is absent' % '/'.join(parts))
  return path
