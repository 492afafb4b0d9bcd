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
"""QuickDraw ndjson to stroke-3, fast: the numbers read by numpy, chunks in parallel.

json.loads makes a Python object of every number of a drawing, and that was most
of the builder's time. Here each line is split in two (`split_line`):

  * the line without its "drawing" array: a pattern matches QuickDraw's own two
    layouts, whose strings have no escapes; any other goes through json.loads,
    the drawing replaced by a placeholder. Either checks that part of the line
    and gives its "word" and "recognized";
  * the drawing arrays of a few thousand lines, one bytes string, are checked
    against the grammar of a JSON array of strokes of number lists (every byte,
    every bracket and comma and their depth, every number's characters: a few
    numpy passes) and their numbers read eight digits at a time from the bytes
    (`_integers`).

A line the fast path is not sure of (an escape, a number of more than 15 digits,
a stroke that is not two or three lists, anything outside the grammar) is read by
json.loads and datasets' checks instead, so the drawings, and the one-line error
of a broken line, are the ones datasets.read_ndjson gives. Chunks of a file go to
`workers` processes; their results are joined in the file's order, so the output
does not depend on the number of workers.
"""

import collections
import ctypes
import io
import itertools
import json
import math
import multiprocessing
import os
import re

import numpy as np

from sketch_rnn import datasets
from sketch_rnn import flat
from sketch_rnn.errors import SketchRNNError

CHUNK_BYTES = 1 << 21  # text a worker gets at a time
# Drawing texts parsed at a time: their temporaries stay in the CPU's caches.
BATCH_BYTES = 1 << 19

# json.loads's scanner (what JSONDecoder.decode calls), called directly; it
# gives every NaN as the one float json.decoder.NaN: the drawing's placeholder.
_SCAN = json.JSONDecoder().scan_once
_COLON = re.compile(r'[ \t\n\r]*:[ \t\n\r]*(?=\[)')
_JSON_SPACE = ' \t\n\r'
# QuickDraw's two layouts (raw, simplified), their strings without escapes or
# control characters: such a head is JSON, and json.loads gives its strings as
# they are written.
_STRING = r'"([^"\\\x00-\x1f]*)"'
_QUICKDRAW = [re.compile(text.replace('S', _STRING)) for text in (
    r'\{"key_id":S,"word":S,"countrycode":S,"timestamp":S,"recognized":(true|false),'
    r'"drawing":(?=\[)',
    r'\{"word":S,"countrycode":S,"timestamp":S,"recognized":(true|false),"key_id":S,'
    r'"drawing":(?=\[)')]
_WORD, _RECOGNIZED = (2, 1), (5, 4)  # their groups


def split_line(line):
  """(the record with its drawing set to a placeholder, the drawing's text) when
  json.loads(line) would give that record with the text's array as "drawing";
  None when the line is for json.loads to read.

  The drawing array runs from the "drawing" key to the line's last "]" (it holds
  no '"', or parse_drawings finds it is not ok). A line in one of QuickDraw's
  layouts, the drawing last, is matched as a whole; in another, the key must be
  the one "drawing" (preceded by "{" or ",", so not inside a string) and the rest
  of the line, with NaN for the array, must decode to an object whose "drawing"
  is that NaN (the object's own key, not an escaped one or a nested object's);
  since a JSON value can stand in for any other, the line then decodes as that
  object with the array in its place.
  """
  end = line.rfind(']') + 1
  for layout, word, recognized in zip(_QUICKDRAW, _WORD, _RECOGNIZED):
    match = layout.match(line)
    if match is not None:
      if line[end:].strip(_JSON_SPACE) != '}':
        break
      text = line[match.end():end]
      record = {'word': match.group(word),
                'recognized': match.group(recognized) == 'true'}
      return (record, text) if text.isascii() else None
  i = line.find('"drawing"')
  if i < 1 or line.find('"drawing"', end) >= 0:
    return None
  if line[i - 1] not in '{,' and line[:i].rstrip(_JSON_SPACE)[-1:] not in '{,':
    return None
  if line.startswith(':[', i + 9):
    start = i + 10
  else:
    colon = _COLON.match(line, i + 9)
    if colon is None:
      return None
    start = colon.end()
  if end <= start:
    return None
  head, tail = line[:i], line[end:]
  if 'NaN' in head or 'NaN' in tail or 'Infinity' in head or 'Infinity' in tail:
    return None  # the placeholder must be the one NaN
  rest = head + '"drawing":NaN' + tail
  first = 0 if rest[:1] == '{' else len(rest) - len(rest.lstrip(_JSON_SPACE))
  try:
    record, stop = _SCAN(rest, first)
  except (StopIteration, ValueError):
    return None
  if (type(record) is not dict or record.get('drawing') is not json.decoder.NaN or  # pylint: disable=unidiomatic-typecheck
      rest[stop:].strip(_JSON_SPACE)):
    return None
  text = line[start:end]
  return (record, text) if text.isascii() else None


# ---------------------------------------------------------------------------
# Drawing texts to numbers, vectorised
# ---------------------------------------------------------------------------

_PAD = 8  # spaces before the text: an 8-byte window ending at any number fits
_O, _C, _S = 0, 1, 2  # [ ] ,
_KIND = np.zeros(256, np.int8)
_KIND[ord('[')], _KIND[ord(']')], _KIND[ord(',')] = _O, _C, _S
# What may follow a bracket or comma: 16 * (a number next?) + 4 * kind + next kind.
_NEXT = np.zeros(32, bool)
for _a, _b in ((_O, _O), (_S, _O), (_C, _S), (_C, _C)):
  _NEXT[4 * _a + _b] = True
for _a, _b in ((_O, _S), (_O, _C), (_S, _S), (_S, _C)):  # "[1," "[1]" ",1," ",1]"
  _NEXT[16 + 4 * _a + _b] = True
_ALLOWED = b'0123456789-+.eE[], \t\n\r'
_ALLOWED_MASK = np.zeros(256, bool)
_ALLOWED_MASK[list(_ALLOWED)] = True
_DIGIT = np.zeros(256, bool)
_DIGIT[list(b'0123456789')] = True
_NUMERIC = np.zeros(256, bool)
_NUMERIC[list(b'0123456789-+.eE')] = True
_BRACKETS = bytes(c in b'[],' for c in range(256))
_FLOATY = bytes(c in b'.eE+' for c in range(256))
_NUMBER = re.compile(rb'-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?\Z')
_U8 = np.uint64


def _integers(buf, first_digit, end, digits):
  """The unsigned integers of up to 8 digits at [first_digit, end) of buf: each
  8-byte window ending at the number, as one little-endian word, has the bytes
  before it cleared and is summed in three multiplications (the digit pairs,
  quads, then all eight)."""
  words = np.ndarray(shape=(len(buf) - 7,), dtype='<u8', buffer=buf, strides=(1,))
  w = words[end - 8]
  shift = ((8 - digits) * 8).astype(np.uint64)
  w = (w >> shift) << shift
  w &= _U8(0x0F0F0F0F0F0F0F0F)
  w = (w * _U8(2561)) >> _U8(8)
  w = ((w & _U8(0x00FF00FF00FF00FF)) * _U8(6553601)) >> _U8(16)
  w = ((w & _U8(0x0000FFFF0000FFFF)) * _U8(42949672960001)) >> _U8(32)
  return w.astype(np.int64)


def _brackets(buf, a, spaced):
  """The brackets' and commas' positions, which of them a number follows (and,
  for each number, that bracket's index and the number's [start, end)), and the
  positions of any other numbers (two in one gap: not JSON). Without whitespace
  a number starts right after a bracket or comma and ends at the next, so only
  those are looked for in the bytes."""
  if not spaced:
    # What is between two brackets or commas is a number, or else a character
    # that is not JSON's (whose drawing is not ok already).
    brackets = np.flatnonzero(np.frombuffer(buf.translate(_BRACKETS), np.bool_))
    followed = np.zeros(len(brackets), bool)
    np.greater(brackets[1:] - brackets[:-1], 1, out=followed[:-1])
    after = np.flatnonzero(followed)
    return (brackets, followed, after, brackets[after] + 1, brackets[after + 1],
            after[:0])
  brackets = np.flatnonzero((a == 91) | (a == 93) | (a == 44))
  numeric = _NUMERIC[a]
  head, tail = numeric.copy(), numeric.copy()
  head[1:] &= ~numeric[:-1]
  tail[:-1] &= ~numeric[1:]
  heads, ends = np.flatnonzero(head), np.flatnonzero(tail) + 1
  gap = np.searchsorted(brackets, heads) - 1  # the bracket or comma before
  first = np.ones(len(gap), bool)
  first[1:] = gap[1:] != gap[:-1]
  followed = np.zeros(len(brackets), bool)
  followed[gap] = True
  return brackets, followed, gap[first], heads[first], ends[first], heads[~first]


def parse_drawings(texts):
  """Drawings' JSON texts to flat points: (ok [D], x [P], y [P], stroke_lengths
  [S], drawing_strokes [D_ok]) for the drawings marked ok, in order.

  A drawing is ok when its text is, byte for byte, a JSON array of strokes, each
  an array of two or three non-empty arrays of JSON numbers, the first two of one
  length, and each of those numbers converts here exactly as json.loads and
  float64 would (integers of up to 15 digits, or any JSON float through float()).
  The others are for json.loads.
  """
  n = len(texts)
  sizes = np.fromiter(map(len, texts), np.int64, n)
  # One space after the texts too: the byte after the last bracket is readable.
  buf = (' ' * _PAD + ''.join(texts) + ' ').encode('ascii')
  a = np.frombuffer(buf, np.uint8)
  ends = np.cumsum(sizes) + _PAD
  bad = np.zeros(n, bool)

  def mark(positions):
    bad[np.searchsorted(ends, positions, 'right')] = True

  if buf.translate(None, _ALLOWED):
    mark(np.flatnonzero(~_ALLOWED_MASK[a]))
  spaced = any(buf.find(c, _PAD, len(buf) - 1) >= 0 for c in (b' ', b'\t', b'\n', b'\r'))
  brackets, followed, after, npos, nend, crowded = _brackets(buf, a, spaced)
  mark(crowded)
  kind = _KIND[a[brackets]]
  first = np.searchsorted(brackets, ends - sizes)
  last = np.searchsorted(brackets, ends) - 1

  def owner(indices):  # the drawings of these brackets
    return np.searchsorted(first, indices, 'right') - 1

  depth = np.cumsum((kind == _O).view(np.int8) - (kind == _C).view(np.int8),
                    dtype=np.int32)
  base = depth[first] - 1  # not 0 after a drawing whose brackets do not close
  if base.any():
    depth -= np.repeat(base, last + 1 - first)  # each drawing's own, from 1
  # The grammar, on the brackets and commas: numbers (only) in the third level,
  # nothing deeper, the drawing closed by its last bracket only, and each one
  # followed by what may follow it.
  wrong = (depth > 3) | (depth < 1) | (followed & (depth != 3))
  nexts = _NEXT[16 * followed[:-1] + 4 * kind[:-1] + kind[1:]]
  wrong[:-1] |= ~nexts
  wrong[last] = (kind[last] != _C) | (depth[last] != 0) | followed[last]
  bad[owner(np.flatnonzero(wrong))] = True

  # Every number (the times' too) must be JSON's: a digit first, after a '-'
  # perhaps, and no other leading zero; one with a '.', an exponent or a '-'
  # inside is checked and converted on its own (QuickDraw's have none), as is
  # an integer of more than 8 digits.
  negative = a[npos] == 45
  digit0 = npos + negative
  digits = nend - digit0
  lead = a[digit0]
  special = digits > 8
  floaty = any(c in buf for c in (b'.', b'e', b'E', b'+'))
  if floaty:
    inside = np.flatnonzero(np.frombuffer(buf.translate(_FLOATY), np.bool_))
    special[np.searchsorted(npos, inside, 'right') - 1] = True
  stray = buf.count(b'-') != np.count_nonzero(negative)
  if stray:
    minus = np.flatnonzero(a == 45)
    at = np.minimum(np.searchsorted(npos, minus), len(npos) - 1)
    special[np.searchsorted(npos, minus[npos[at] != minus], 'right') - 1] = True
  if floaty or stray or spaced:
    wrong = (digits < 1) | ~_DIGIT[lead] | ((lead == 48) & _DIGIT[a[digit0 + 1]])
  else:  # every character of a number is a digit but a leading '-'
    wrong = (digits < 1) | ((lead == 48) & (digits > 1))
  special_value = {}
  for k in np.flatnonzero(special & ~wrong).tolist():
    text = buf[npos[k]:nend[k]]
    if _NUMBER.match(text) is None or (
        digits[k] > 15 and b'.' not in text and b'e' not in text and
        b'E' not in text):  # beyond float64's exact integers: json.loads's way
      wrong[k] = True
    else:
      special_value[k] = float(text)
      wrong[k] = not math.isfinite(special_value[k])  # 1e999: json.loads's error
  bad[owner(after[wrong])] = True

  # The lists and strokes of the drawings still ok: a list's numbers follow its
  # "[" and its commas, so they are consecutive, up to its "]".
  opens = kind == _O
  lists = np.flatnonzero(opens & (depth == 3))
  closes = np.flatnonzero((kind == _C) & (depth == 2))
  strokes = np.flatnonzero(opens & (depth == 2))
  if bad.any():
    lists, closes, strokes = (x[~bad[owner(x)]] for x in (lists, closes, strokes))
  list_size = closes - lists
  list_first = np.cumsum(followed)[lists] - 1  # its first number's index
  xl = np.searchsorted(lists, strokes)
  per_stroke = np.diff(np.append(xl, len(lists)))
  two = per_stroke >= 2
  wrong = ~two | (per_stroke > 3)
  wrong[two] |= list_size[xl[two]] != list_size[xl[two] + 1]
  stroke_owner = owner(strokes)
  bad[stroke_owner[wrong]] = True
  keep = ~bad[stroke_owner]
  xl = xl[keep]
  size = list_size[xl]
  # The x and y numbers, then their values: integers from the bytes, the others
  # by float().
  xy = np.concatenate([flat.ranges(list_first[xl], size),
                       flat.ranges(list_first[xl + 1], size)])
  values = np.zeros(len(xy))
  plain = ~special[xy]
  r = xy[plain]
  integers = _integers(buf, digit0[r], nend[r], digits[r])
  np.negative(integers, out=integers, where=negative[r])  # -0 is 0, as in JSON
  values[plain] = integers
  for k in np.flatnonzero(~plain).tolist():
    values[k] = special_value[int(xy[k])]
  ok = ~bad
  drawing_strokes = np.bincount(stroke_owner[keep], minlength=n)[ok]
  return ok, values[:len(xy) // 2], values[len(xy) // 2:], size, drawing_strokes


# ---------------------------------------------------------------------------
# Chunks of lines
# ---------------------------------------------------------------------------

Chunk = collections.namedtuple('Chunk', 'rows lengths words skipped error')


def _lines(data, name, first):
  """(number, line, newline) of a chunk's bytes: line + newline is the line as
  text-mode iteration gives it (newlines translated to '\n'); a line that is not
  UTF-8 comes as a BadDrawing."""
  try:
    text = data.decode('utf-8')
  except UnicodeDecodeError:
    text = None
  if text is not None and '\r' not in text:
    lines = text.split('\n')
    end = lines.pop()
    for number, line in enumerate(lines, first):
      yield number, line, '\n'
    if end:
      yield first + len(lines), end, ''
    return
  if text is not None:
    for number, line in enumerate(io.StringIO(text, newline=None), first):
      yield number, line, ''
    return
  pieces = re.split(b'(\r\n|\r|\n)', data)
  lines = [pieces[i] + b'\n' for i in range(0, len(pieces) - 1, 2)]
  lines += [pieces[-1]] if pieces[-1] else []
  for number, line in enumerate(lines, first):
    try:
      yield number, line.decode('utf-8'), ''
    except UnicodeDecodeError:
      yield number, datasets.BadDrawing('%s line %d: not UTF-8 text' % (
          name, number)), ''


def line_breaks(data, end=None):
  """How many lines text-mode iteration ends in data[:end]."""
  end = len(data) if end is None else end
  if data.find(b'\r', 0, end) < 0:
    return data.count(b'\n', 0, end)
  return (data.count(b'\n', 0, end) + data.count(b'\r', 0, end) -
          data.count(b'\r\n', 0, end))


def read_chunk(data, name, first, recognized_only=False, epsilon=2.0,
               skip_bad=False):
  """The drawings of a chunk of a file (bytes of whole lines, the first of them
  line `first`) as int16 stroke-3: a Chunk of rows [R, 3], lengths [D], words,
  how many bad drawings were skipped and, unless skip_bad, the first error."""
  fast, slow = [], []  # (number, line, newline, record, drawing), (number, line)
  for number, line, newline in _lines(data, name, first):
    split = split_line(line) if type(line) is str else None  # pylint: disable=unidiomatic-typecheck
    if split is not None:
      fast.append((number, line, newline) + split)
    elif type(line) is not str:  # pylint: disable=unidiomatic-typecheck
      slow.append((number, line))
    elif line and not line.isspace():
      slow.append((number, line + newline))
  # Batches of about BATCH_BYTES of drawings.
  ends = np.cumsum(np.fromiter((len(f[4]) for f in fast), np.int64, len(fast)))
  cuts = np.unique(np.searchsorted(ends, np.arange(1, ends[-1] // BATCH_BYTES + 1) *
                                   BATCH_BYTES)) if len(fast) else []
  parts, kept = [], []
  for start, stop in zip([0] + list(cuts), list(cuts) + [len(fast)]):
    if start >= stop:
      continue
    batch = fast[start:stop]
    ok, x, y, stroke_lengths, drawing_strokes = parse_drawings([f[4] for f in batch])
    kept += itertools.compress(batch, ok.tolist())
    slow += [(f[0], f[1] + f[2]) for f in itertools.compress(batch, (~ok).tolist())]
    parts.append((x, y, stroke_lengths, drawing_strokes))
  return _finish(slow, parts, kept, name, recognized_only, epsilon, skip_bad)


def _finish(slow, parts, kept, name, recognized_only, epsilon, skip_bad):
  """read_chunk's second half: the lines json.loads reads, and all to stroke-3."""
  slow.sort(key=lambda f: f[0])
  errors, plain = [], datasets.Flat()
  for number, line in slow:
    place = '%s line %d' % (name, number)
    try:
      if isinstance(line, datasets.BadDrawing):
        raise line
      drawing = datasets.read_record(line, place, recognized_only)
      if drawing is not None:
        datasets.check_values(drawing[1], place)
        plain.add(number, drawing[0], drawing[1])
    except datasets.BadDrawing as e:
      errors.append((number, e))
  if errors and not skip_bad:
    return Chunk(None, None, None, 0, min(errors, key=lambda e: e[0])[1])
  # Every drawing, in line order: the fast ones (but those recognized_only leaves
  # out) and json.loads's.
  numbers = [f[0] for f in kept] + [place for place, _, _ in plain.drawings]
  words = [f[3].get('word') for f in kept] + plain.words
  use = np.ones(len(numbers), bool)
  if recognized_only:
    use[:len(kept)] = [f[3].get('recognized') is not False for f in kept]
  if plain.drawings:
    px, py, p_strokes, p_drawings = plain.arrays()
    parts.append((px, py, np.diff(p_strokes), np.diff(p_drawings)))
  empty = (np.zeros(0), np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64))
  x, y, stroke_lengths, drawing_strokes = (
      np.concatenate(column) for column in zip(*(parts + [empty])))
  order = np.argsort(np.array(numbers, np.int64), kind='stable')
  order = order[use[order]]
  x, y, stroke_lengths, drawing_strokes = _select(
      order, x, y, stroke_lengths, drawing_strokes)
  rows, lengths = datasets.to_stroke3_flat(
      x, y, np.concatenate([[0], np.cumsum(stroke_lengths)]),
      np.concatenate([[0], np.cumsum(drawing_strokes)]), epsilon)
  return Chunk(rows, lengths, [words[i] for i in order.tolist()], len(errors), None)


def _select(order, x, y, stroke_lengths, drawing_strokes):
  """The flat drawings `order` (indices, in that order)."""
  if np.array_equal(order, np.arange(len(drawing_strokes))):
    return x, y, stroke_lengths, drawing_strokes
  stroke_start = np.cumsum(drawing_strokes) - drawing_strokes
  point_counts = (np.add.reduceat(stroke_lengths, stroke_start) if len(stroke_start)
                  else np.zeros(0, np.int64))
  point_start = np.cumsum(point_counts) - point_counts
  points = flat.ranges(point_start[order], point_counts[order])
  strokes = flat.ranges(stroke_start[order], drawing_strokes[order])
  return x[points], y[points], stroke_lengths[strokes], drawing_strokes[order]


# ---------------------------------------------------------------------------
# Files, in chunks, over processes
# ---------------------------------------------------------------------------

Built = collections.namedtuple('Built', 'rows lengths words skipped')


def chunks(paths, size=CHUNK_BYTES):
  """(path, name, first line number, offset, bytes, cut) of every file: about
  `size` bytes read at a time, the chunk being the whole lines of them,
  bytes[:cut] (the next read starts after them: nothing is copied to join
  pieces, nor sent to a worker, which reads its chunk itself)."""
  for path in paths:
    name = os.path.basename(path)
    try:
      f = open(path, 'rb')
    except OSError as e:
      raise SketchRNNError('%s: cannot read (%s)' % (path, e.strerror)) from None
    with f:
      first, offset = 1, 0
      while True:
        block = f.read(size)
        if not block:
          break
        cut = block.rfind(b'\n') + 1
        if not cut or len(block) < size:  # a line longer than size, or the end
          block += f.read()
          cut = len(block)
        yield path, name, first, offset, block, cut
        first += line_breaks(block, cut)
        offset += cut
        f.seek(offset)


def _read(job):
  """A worker's chunk: read from the file (the page cache) rather than sent."""
  path, offset, size, rest = job
  with open(path, 'rb') as f:
    f.seek(offset)
    data = f.read(size)
  return read_chunk(data, *rest)


def keep_freed_memory():
  """Has glibc keep the memory freed between chunks for the next ones, rather
  than give it back and fault it in again (about a seventh of a build's time).
  For the builder's process (and the workers it forks); nothing elsewhere."""
  try:
    mallopt = ctypes.CDLL(None).mallopt
  except (AttributeError, OSError):
    return
  mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD: blocks below it from the heap
  mallopt(-1, 512 << 20)  # M_TRIM_THRESHOLD: the heap's top kept up to this


def cores():
  """The cores this process may run on."""
  try:
    return len(os.sched_getaffinity(0))
  except AttributeError:  # not on Linux
    return os.cpu_count() or 1


def build(paths, epsilon=2.0, skip_bad=False, recognized_only=False, workers=1,
          chunk_bytes=CHUNK_BYTES):
  """Every drawing of the ndjson files, in order, as int16 stroke-3: Built(rows
  [R, 3], lengths [D], words [D], skipped). The chunks go to `workers` processes
  (fork), at most two each in flight; the first bad line, in file order, raises
  its BadDrawing unless skip_bad."""
  jobs = ((path, offset, data, cut, (name, first, recognized_only, epsilon, skip_bad))
          for path, name, first, offset, data, cut in chunks(paths, chunk_bytes))
  ahead = list(itertools.islice(jobs, 2))
  pool = None
  if workers > 1 and len(ahead) > 1:
    # fork where there is one: a worker needs nothing of the parent's but this
    # module, and starts in milliseconds.
    methods = multiprocessing.get_all_start_methods()
    pool = multiprocessing.get_context('fork' if 'fork' in methods else None).Pool(
        workers)
  try:
    rows, lengths, words, skipped = [], [], [], 0
    for chunk in _in_order(pool, workers, itertools.chain(ahead, jobs)):
      if chunk.error is not None:
        raise chunk.error
      rows.append(chunk.rows)
      lengths.append(chunk.lengths)
      words += chunk.words
      skipped += chunk.skipped
  finally:
    if pool is not None:
      pool.terminate()
      pool.join()
  return Built(np.concatenate(rows or [np.zeros((0, 3), np.int16)]),
               np.concatenate(lengths or [np.zeros(0, np.int64)]), words, skipped)


def _in_order(pool, workers, jobs):
  if pool is None:
    for _, _, data, cut, rest in jobs:
      yield read_chunk(data if cut == len(data) else data[:cut], *rest)
    return
  pending = collections.deque()
  for path, offset, _, cut, rest in jobs:
    pending.append(pool.apply_async(_read, ((path, offset, cut, rest),)))
    if len(pending) >= 2 * workers:
      yield pending.popleft().get()
  while pending:
    yield pending.popleft().get()
