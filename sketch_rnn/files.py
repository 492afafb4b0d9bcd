# Copyright 2026 The sketch-rnn-tf2 Authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""Files written whole or not at all, readable as the user's umask says.

Every file the project writes (configs, grids, reports, models, caches) goes
through `atomic_write`: a temporary file beside the target, renamed into place, so
a reader never sees half a file and a killed writer leaves the old one.
"""

import contextlib
import json
import os
import tempfile


def _umask():
  # os.umask both sets and returns it: set it back at once.
  mask = os.umask(0o022)
  os.umask(mask)
  return mask


@contextlib.contextmanager
def atomic_write(path, mode='w'):
  """with atomic_write(path, 'wb') as f: ... -- f is renamed to path on success,
  removed on any error. The file gets 0666 less the umask, as open() would give
  (mkstemp's own 0600 would keep team-mates out of a shared run folder)."""
  folder = os.path.dirname(os.path.abspath(path))
  fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp-')
  try:
    os.fchmod(fd, 0o666 & ~_umask())
    with os.fdopen(fd, mode) as f:
      yield f
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise


def write_text(path, text):
  with atomic_write(path) as f:
    f.write(text)


def read_json_value(path, key, hint):
  """json[key] of the file at path; None when there is no such file. A file that
  does not parse or lacks the key is a SketchRNNError naming it, with hint (what
  to do) after it."""
  from sketch_rnn.errors import SketchRNNError  # pylint: disable=g-import-not-at-top
  if not os.path.exists(path):
    return None
  try:
    with open(path) as f:
      return json.load(f)[key]
  except (OSError, ValueError, KeyError, TypeError):
    raise SketchRNNError('%s: unreadable; %s' % (path, hint)) from None
