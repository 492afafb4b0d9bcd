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
"""Run-folder safety for the trainer: one trainer per folder, no run destroyed.

- `RunLock`: `<log_root>/train.lock`, created exclusively (a hard link, else
  O_EXCL: atomic on local filesystems and on NFS), holds the host and PID of the
  trainer writing there.
  A second trainer refuses, naming the holder. A lock whose process is gone is
  taken over, with a line, only when it was taken on this host: a PID of another
  host cannot be checked, so such a lock is removed by hand once that trainer is
  known to be gone (docs/preemption.md).
- `check_fresh_start`: a new run in a folder that holds checkpoints is refused,
  or with --overwrite the old run is moved aside into a dated subfolder.
The trainer removes what a killed save left (checkpoints.remove_temporaries)
once it holds the lock, so never a live trainer's files.
"""

import datetime
import json
import os
import socket

from absl import logging

from sketch_rnn import checkpoints
from sketch_rnn.errors import SketchRNNError

LOCK_NAME = 'train.lock'
REPLACED_PREFIX = 'replaced-'  # --overwrite's dated subfolders


def _pid_alive(pid):
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # someone else's process: alive
    return True
  return True


def _read_lock(path):
  """The holder {host, pid, started} of a lock file; {} when unreadable (a
  trainer killed between creating and writing it)."""
  try:
    with open(path) as f:
      holder = json.load(f)
    return holder if isinstance(holder, dict) else {}
  except (OSError, ValueError):
    return {}


def _describe(holder):
  if not holder:
    return 'an unknown trainer (the lock file is empty)'
  return 'PID %s on host %s (since %s)' % (holder.get('pid'), holder.get('host'),
                                          holder.get('started', '?'))


class RunLock:
  """`with RunLock(log_root):` holds the folder's lock for the block's duration."""

  def __init__(self, log_root):
    self.path = os.path.join(log_root, LOCK_NAME)
    self.holder = dict(host=socket.gethostname(), pid=os.getpid(),
                       started=datetime.datetime.now().isoformat(timespec='seconds'))
    self.held = False

  def _create(self):
    # Written whole beside it, then hard-linked in (link fails when the name
    # exists, like O_EXCL, and is atomic on NFS too): a kill never leaves a lock
    # without its holder. Where links are not supported, O_EXCL.
    aside = '%s.%s.%d' % (self.path, self.holder['host'], os.getpid())
    with open(aside, 'w') as f:
      json.dump(self.holder, f)
    try:
      os.link(aside, self.path)
      return True
    except FileExistsError:
      return False
    except OSError:
      try:
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
      except FileExistsError:
        return False
      with os.fdopen(fd, 'w') as f:
        json.dump(self.holder, f)
      return True
    finally:
      os.remove(aside)

  def acquire(self):
    if self._create():
      self.held = True
      return self
    holder = _read_lock(self.path)
    host, pid = holder.get('host'), holder.get('pid')
    same_host = host == self.holder['host']
    if not (same_host and isinstance(pid, int) and not _pid_alive(pid)):
      rule = ('if that trainer is gone, remove %s' % self.path if not same_host
              else 'wait for it, stop it, or use another --log_root')
      raise SketchRNNError('--log_root %s is in use by %s; %s' % (
          os.path.dirname(self.path), _describe(holder), rule))
    # Stale: move it aside under a name of our own (rename is atomic), so that of
    # two trainers taking it over at once only one wins, and check that what was
    # moved is the stale lock and not the winner's fresh one.
    aside = '%s.stale-%d' % (self.path, os.getpid())
    try:
      os.rename(self.path, aside)
    except FileNotFoundError:
      aside = None
    if aside is not None:
      if _read_lock(aside) != holder:
        os.rename(aside, self.path)  # another trainer's fresh lock: give it back
        raise SketchRNNError('--log_root %s: another trainer took over its stale '
                             'lock just now' % os.path.dirname(self.path))
      os.remove(aside)
    if not self._create():
      raise SketchRNNError('--log_root %s is in use by %s' % (
          os.path.dirname(self.path), _describe(_read_lock(self.path))))
    logging.warning('Took over the lock of %s: its process is gone.',
                    _describe(holder))
    self.held = True
    return self

  def release(self):
    # Only our own: a lock removed by hand and retaken must stay the new holder's.
    if self.held and _read_lock(self.path) == self.holder:
      os.remove(self.path)
    self.held = False

  def __enter__(self):
    return self.acquire()

  def __exit__(self, *unused):
    self.release()


def check_fresh_start(log_root, overwrite):
  """A new run may start in log_root: it holds no checkpoint, or with overwrite
  the old run (everything but the lock and earlier replaced-* folders) is moved
  into log_root/replaced-<date>/. Call it with the lock held when overwriting."""
  found = checkpoints.checkpoints_on_disk(log_root)
  if not found:
    return None
  names = ', '.join(os.path.basename(p) for p in found[-3:])
  if not overwrite:
    raise SketchRNNError(
        '--log_root %s holds a run (%s): continue it with --resume_training, use '
        'another --log_root, or pass --overwrite to move it aside' % (log_root, names))
  aside = os.path.join(log_root, REPLACED_PREFIX +
                       datetime.datetime.now().strftime('%Y%m%d-%H%M%S'))
  while os.path.exists(aside):
    aside += '+'
  os.mkdir(aside)
  for name in os.listdir(log_root):
    if name == LOCK_NAME or name.startswith(REPLACED_PREFIX):
      continue
    os.rename(os.path.join(log_root, name), os.path.join(aside, name))
  logging.warning('--overwrite: moved the previous run (%s) to %s.', names, aside)
  return aside
