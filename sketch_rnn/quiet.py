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
"""TensorFlow's start-up lines off the terminal: every CLI calls this first.

TensorFlow's C++ side prints 6 or 7 lines when it loads and finds its devices
(oneDNN, CUDA drivers, CPU features, a `failed call to cuInit` on a machine without
a GPU), before absl logging starts, so TF_CPP_MIN_LOG_LEVEL cannot hide them all.
This module imports TensorFlow and lists the devices with file descriptor 2 pointed
at a temporary file; the lines are shown after all if the import fails. Setting
TF_CPP_MIN_LOG_LEVEL (to anything, e.g. 0) leaves TensorFlow to print as it
would: TensorFlow's own variable wins.
"""

import os
import sys
import tempfile


def import_tensorflow():
  """Imports TensorFlow and finds its devices, its C++ lines captured."""
  if 'tensorflow' in sys.modules or 'TF_CPP_MIN_LOG_LEVEL' in os.environ:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    return tf
  sys.stderr.flush()
  saved = os.dup(2)
  with tempfile.TemporaryFile() as captured:
    os.dup2(captured.fileno(), 2)
    try:
      import tensorflow as tf  # pylint: disable=g-import-not-at-top
      tf.config.list_physical_devices()  # where the cuInit line comes from
    except BaseException:
      os.dup2(saved, 2)
      captured.seek(0)
      sys.stderr.write(captured.read().decode(errors='replace'))
      raise
    finally:
      os.dup2(saved, 2)
      os.close(saved)
  return tf
