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
"""The errors a user can cause. The command-line tools print each as one line.

Code that must react to one kind of failure catches its type, never its text.
"""


class SketchRNNError(ValueError):
  """A problem the user can fix (bad data, run folder or hyperparameters).

  The command-line tools print it as one line and exit with code 1.
  """


class UsageError(SketchRNNError):
  """A bad command line: a flag or --hparams that cannot be right. Exit code 2."""


class KeyOnlyConfigError(SketchRNNError):
  """A model_config.json that holds only the hyperparameters' names, the file
  Magenta's trainer writes: the values must come from --hparams."""


class CheckpointMismatchError(SketchRNNError):
  """A checkpoint that does not hold every weight of the model asked for (another
  cell type, conditional setting or size)."""


class NoCheckpointError(SketchRNNError):
  """A run folder with no checkpoint that loads."""
