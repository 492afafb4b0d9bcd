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
"""Where a run's data came from: `data_source.json` in its run folder.

The trainer writes `{"data_dir": ...}` there, beside model_config.json (whose
data_set names the files) and scale_factor.json (the train split's normalising
factor): a local folder made absolute, so that the run finds its data from any
working directory, a URL as given. Without --data_dir the tools that read a run's
data (eval, sample, export, the study, a resume) take it from there; an explicit
--data_dir wins, and a run without the file (older ones, Magenta's) keeps the
flag's default. See docs/data.md.
"""

import json
import os

from sketch_rnn import files
from sketch_rnn.data import is_url
from sketch_rnn.errors import SketchRNNError

DATA_SOURCE = 'data_source.json'


def write(log_root, data_dir):
  if not is_url(data_dir):
    data_dir = os.path.abspath(data_dir)
  files.write_text(os.path.join(log_root, DATA_SOURCE),
                   json.dumps({'data_dir': data_dir}, indent=1) + '\n')


def read(log_root):
  """The data folder or URL the run in log_root was trained on; None when it has
  no data_source.json. A folder that is gone since is an error naming it: a
  default in its place would load other data, or try to download it."""
  path = os.path.join(log_root, DATA_SOURCE)
  hint = 'remove it or pass --data_dir'
  data_dir = files.read_json_value(path, 'data_dir', hint)
  if data_dir is None:
    return None
  if not isinstance(data_dir, str) or not data_dir:
    raise SketchRNNError('%s: unreadable; %s' % (path, hint))
  if not is_url(data_dir) and not os.path.isdir(data_dir):
    raise SketchRNNError('%s was trained on --data_dir %s (its %s), which no longer '
                         'exists; pass --data_dir' % (log_root, data_dir, DATA_SOURCE))
  return data_dir
