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
"""An SVG drawing's strokes as polylines (the builder's SVG reader). numpy only.

Reads <path> (M L H V C S Q T Z, absolute and relative; curves flattened to
CURVE_POINTS points, which the builder's simplification then thins), <polyline>,
<polygon> and <line>, under the transforms of the element and its groups
(translate, scale, rotate, matrix, skewX, skewY). Each subpath is one stroke.
Filled shapes (rect, circle, ellipse) and text are not pen strokes and are left
out; an arc (A) is refused rather than drawn wrong.
"""

import math
import re
import xml.etree.ElementTree as ET

import numpy as np

from sketch_rnn.errors import SketchRNNError

CURVE_POINTS = 8  # points per Bezier segment, its end point included
_NUMBER = r'[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?'
_TOKEN = re.compile(r'([MmLlHhVvCcSsQqTtAaZz])|(%s)' % _NUMBER)
_TRANSFORM = re.compile(r'(matrix|translate|scale|rotate|skewX|skewY)\s*\(([^)]*)\)')
_ARGS = {'M': 2, 'L': 2, 'H': 1, 'V': 1, 'C': 6, 'S': 4, 'Q': 4, 'T': 2, 'A': 7,
         'Z': 0}


def _numbers(text, what):
  values = re.findall(_NUMBER, text or '')
  try:
    return [float(v) for v in values]
  except ValueError:
    raise SketchRNNError('bad numbers in %s' % what) from None


def parse_transform(text):
  """An SVG transform attribute to a 3x3 matrix."""
  result = np.eye(3)
  for name, args in _TRANSFORM.findall(text or ''):
    v = _numbers(args, 'transform')
    if name == 'matrix' and len(v) == 6:
      m = [[v[0], v[2], v[4]], [v[1], v[3], v[5]]]
    elif name == 'translate' and len(v) in (1, 2):
      m = [[1, 0, v[0]], [0, 1, v[1] if len(v) > 1 else 0]]
    elif name == 'scale' and len(v) in (1, 2):
      m = [[v[0], 0, 0], [0, v[1] if len(v) > 1 else v[0], 0]]
    elif name == 'rotate' and len(v) in (1, 3):
      a = math.radians(v[0])
      cx, cy = (v[1], v[2]) if len(v) == 3 else (0.0, 0.0)
      c, s = math.cos(a), math.sin(a)
      m = [[c, -s, cx - c * cx + s * cy], [s, c, cy - s * cx - c * cy]]
    elif name in ('skewX', 'skewY') and len(v) == 1:
      t = math.tan(math.radians(v[0]))
      m = [[1, t, 0], [0, 1, 0]] if name == 'skewX' else [[1, 0, 0], [t, 1, 0]]
    else:
      raise SketchRNNError('transform %s(%s): wrong number of arguments' % (name, args))
    result = result @ np.array(m + [[0, 0, 1]], dtype=np.float64)
  return result


def _bezier(points, n=CURVE_POINTS):
  """Points along a Bezier curve of 3 or 4 control points, the start left out."""
  t = np.linspace(0, 1, n + 1)[1:, None]
  p = np.asarray(points, dtype=np.float64)
  if len(p) == 3:
    return (1 - t) ** 2 * p[0] + 2 * (1 - t) * t * p[1] + t ** 2 * p[2]
  return ((1 - t) ** 3 * p[0] + 3 * (1 - t) ** 2 * t * p[1] +
          3 * (1 - t) * t ** 2 * p[2] + t ** 3 * p[3])


def parse_path(d):
  """A path's d attribute to a list of (n, 2) polylines, one per subpath."""
  tokens = _TOKEN.findall(d or '')
  lines, line = [], []
  pos = np.zeros(2)
  start = np.zeros(2)
  control = None  # the last curve's second control point, for S and T
  command = None
  i = 0
  while i < len(tokens):
    letter, number = tokens[i]
    if letter:
      command = letter
      i += 1
      if command in 'Zz':
        if line:
          line.append(start.copy())
          lines.append(line)
        line, pos, control = [], start.copy(), None
        continue
    elif command is None:
      raise SketchRNNError('path data starts with a number, not a command')
    upper = command.upper()
    count = _ARGS[upper]
    args = [t[1] for t in tokens[i:i + count]]
    if len(args) < count or any(not a for a in args):
      raise SketchRNNError('path command %s needs %d numbers' % (command, count))
    i += count
    v = np.array([float(a) for a in args])
    relative = command.islower()
    if upper == 'A':
      raise SketchRNNError('path arcs (A) are not supported; convert them to '
                           'curves (e.g. Inkscape: Path > Object to Path)')
    if upper == 'H':
      target = np.array([v[0] + (pos[0] if relative else 0), pos[1]])
    elif upper == 'V':
      target = np.array([pos[0], v[0] + (pos[1] if relative else 0)])
    else:
      pts = v.reshape(-1, 2) + (pos if relative else 0)
      target = pts[-1]
    if upper == 'M':
      if line:
        lines.append(line)
      line, start = [target.copy()], target.copy()
      command = 'l' if relative else 'L'  # later pairs are line-tos
    elif upper in 'LHV':
      line = line or [pos.copy()]
      line.append(target)
    else:
      line = line or [pos.copy()]
      if upper in 'CQ':
        ctrl = pts[:-1]
      else:  # S, T: the first control point mirrors the last curve's
        first = 2 * pos - control if control is not None else pos
        ctrl = np.concatenate([[first], pts[:-1]])
      line.extend(_bezier(np.concatenate([[pos], ctrl, [target]])))
      control = ctrl[-1]
    if upper not in 'CSQT':
      control = None
    pos = target
  if line:
    lines.append(line)
  return [np.array(l, dtype=np.float64) for l in lines]


def _local(tag):
  return tag.rsplit('}', 1)[-1]


def _element_lines(element):
  tag = _local(element.tag)
  if tag == 'path':
    return parse_path(element.get('d'))
  if tag in ('polyline', 'polygon'):
    v = _numbers(element.get('points'), tag)
    if len(v) < 2 or len(v) % 2:
      raise SketchRNNError('<%s> points: expected x,y pairs' % tag)
    line = np.array(v, dtype=np.float64).reshape(-1, 2)
    if tag == 'polygon':
      line = np.concatenate([line, line[:1]])
    return [line]
  if tag == 'line':
    v = [float(element.get(k, 0)) for k in ('x1', 'y1', 'x2', 'y2')]
    return [np.array(v, dtype=np.float64).reshape(2, 2)]
  return []


def read_polylines(path):
  """Every stroke of an SVG file, in document order, transforms applied."""
  name = path.rsplit('/', 1)[-1]
  try:
    root = ET.parse(path).getroot()
  except (ET.ParseError, OSError) as e:
    raise SketchRNNError('%s: not a readable SVG file (%s)' % (name, e)) from None
  lines = []

  def walk(element, matrix):
    try:
      matrix = matrix @ parse_transform(element.get('transform'))
      found = _element_lines(element)
    except (SketchRNNError, ValueError) as e:
      raise SketchRNNError('%s: <%s>: %s' % (name, _local(element.tag), e)) from None
    for line in found:
      if len(line):
        lines.append(line @ matrix[:2, :2].T + matrix[:2, 2])
    for child in element:
      walk(child, matrix)

  walk(root, np.eye(3))
  if not lines:
    raise SketchRNNError('%s: no path, polyline, polygon or line' % name)
  return lines
