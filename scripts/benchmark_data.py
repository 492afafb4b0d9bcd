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
"""Data loading at scale, and the dataset builder: the new against the old.

  python scripts/benchmark_data.py --sizes=100000,1000000,10000000 \
      --old_up_to=100000 --npz_up_to=1000000 --builder=100000

For each size, writes a .npz of synthetic QuickDraw-like sketches (int16 stroke-3,
about 125 points each, 70/2.5/2.5-style splits; np.savez's pickles) and, each in a
fresh process so the peak memory is its own, loads it with the old pipeline
(numpy's arrays, per-sketch checks, tests/reference_loader.py; up to --old_up_to),
with load_dataset from the .npz (cache=False), building the cache (the first
cache=True load), and from the cache (a later one), then times random_batch() at
batch 100 with Magenta's augmentation, with Magenta's sampler, with
sampler='distinct' and with 'auto' (the default). Above --npz_up_to no .npz is
made (one of 10 million sketches takes minutes and tens of GB to write): the cache
is written directly from flat synthetic arrays, beside a small stand-in .npz, and
only the cache load is timed. Prints sketches per second, peak memory against the
int16 payload, and milliseconds per batch (medians).

--builder=N: `sketch_rnn_data ndjson` on two synthetic QuickDraw-like files of N/2
drawings each (simplified, then raw with times), in a fresh process, timed from
the command's start to the .npz written (imports left out): with one worker, with
every core, and the old pipeline (a json.loads per line, lists of arrays,
np.savez_compressed); the CPU seconds of the process and its workers too, which
other jobs on the machine change less than the wall clock. Figures go in
docs/performance.md, not here.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [REPO, os.path.join(REPO, 'tests')]


def make_cache(path, n_train, seed=0):
  """The cache of n_train synthetic sketches, as data_cache writes it, for the
  stand-in .npz at path (the points made a block at a time, in a memory map, in
  the loaders' order); returns the number of points."""
  from sketch_rnn import data_cache  # pylint: disable=g-import-not-at-top
  gen = np.random.default_rng(seed)
  tiny = np.empty(1, dtype=object)
  tiny[0] = np.zeros((1, 3), np.int16)
  np.savez(path, train=tiny, valid=tiny, test=tiny)
  flats, total = {}, 0
  for split, n in (('train', n_train), ('valid', max(100, n_train // 28)),
                   ('test', max(100, n_train // 28))):
    lengths = np.clip(gen.normal(125, 40, size=n).astype(np.int64), 10, 250)
    order = np.argsort(lengths)  # the loaders' order, as data_cache keeps it
    starts = np.empty_like(lengths)
    starts[order] = np.cumsum(lengths[order]) - lengths[order]
    points = np.lib.format.open_memmap(path + '.%s.npy' % split, mode='w+',
                                       dtype=np.int16, shape=(int(lengths.sum()), 3))
    for a in range(0, len(points), 1 << 24):
      block = points[a:a + (1 << 24)]
      block[:, 0:2] = gen.integers(-25, 26, size=(len(block), 2), dtype=np.int16)
      block[:, 2] = gen.random(len(block), dtype=np.float32) < 0.06
    points[np.cumsum(lengths[order]) - 1, 2] = 1
    total += len(points)
    flats[split] = (points, starts, lengths, 25.0, None)
    del points
  data_cache._write(path, data_cache.folder_for(path), flats, None)  # pylint: disable=protected-access
  for split in ('train', 'valid', 'test'):
    os.remove(path + '.%s.npy' % split)
  return total


def make_npz(path, n_train, seed=0):
  """Sketches of 5-8 strokes, 10-30 points each, offsets of a 0-255 drawing."""
  gen = np.random.default_rng(seed)
  n_eval = max(100, n_train // 28)  # as make_cache
  arrays = {}
  for split, n in (('train', n_train), ('valid', n_eval), ('test', n_eval)):
    lengths = np.clip(gen.normal(125, 40, size=n).astype(np.int64), 10, 250)
    points = gen.integers(-25, 26, size=(int(lengths.sum()), 3)).astype(np.int16)
    points[:, 2] = gen.random(len(points)) < 0.06
    ends = np.cumsum(lengths)
    points[ends - 1, 2] = 1
    array = np.empty(n, dtype=object)
    for i, sketch in enumerate(np.split(points, ends[:-1])):
      array[i] = sketch
    arrays[split] = array
  np.savez(path, **arrays)
  return int(sum(len(s) for s in arrays['train']) + sum(
      len(s) for s in arrays['valid']) + sum(len(s) for s in arrays['test']))


def make_ndjson(path, n, raw, seed=0, word='cat'):
  """n QuickDraw-like drawings, one ndjson line each in QuickDraw's layouts: 1-9
  smooth strokes of 2-19 points in 0-255 (simplified), or 3x the points on a
  0-1000 canvas with millisecond times (raw)."""
  gen = np.random.default_rng(seed)
  join = lambda values: ','.join(map(str, values.tolist()))
  with open(path, 'w') as f:
    for i in range(n):
      strokes, t0 = [], 0
      for _ in range(int(gen.integers(1, 10))):
        m = int(gen.integers(2, 20)) * (3 if raw else 1)
        angle = np.cumsum(gen.normal(0, 0.1 if raw else 0.3, m))
        step = gen.uniform(3, 15, m) / (3 if raw else 1)
        xy = gen.uniform(0, 200, 2) + np.cumsum(
            np.stack([np.cos(angle), np.sin(angle)], 1) * step[:, None], 0)
        if raw:
          xy = np.round(xy * 3).astype(np.int64)
          t = t0 + np.cumsum(gen.integers(5, 30, m))
          t0 = int(t[-1]) + int(gen.integers(100, 600))
          strokes.append('[[%s],[%s],[%s]]' % (join(xy[:, 0]), join(xy[:, 1]), join(t)))
        else:
          xy = np.clip(np.round(xy), 0, 255).astype(np.int64)
          strokes.append('[[%s],[%s]]' % (join(xy[:, 0]), join(xy[:, 1])))
      fields = dict(key_id='"%d"' % (5891796615823360 + i), word='"%s"' % word,
                    countrycode='"US"', timestamp='"2017-03-01 20:41:36.70725 UTC"',
                    recognized='true' if i % 7 else 'false')
      order = (('key_id', 'word', 'countrycode', 'timestamp', 'recognized') if raw
               else ('word', 'countrycode', 'timestamp', 'recognized', 'key_id'))
      f.write('{%s,"drawing":[%s]}\n' % (
          ','.join('"%s":%s' % (k, fields[k]) for k in order), ','.join(strokes)))


def builder_child(how, out, *paths):
  """One build, timed in this process: prints a JSON line."""
  from sketch_rnn import datasets  # pylint: disable=g-import-not-at-top
  from sketch_rnn import sketch_rnn_data  # pylint: disable=g-import-not-at-top
  cpu = lambda: sum(getattr(resource.getrusage(who), f) for who in (
      resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for f in ('ru_utime', 'ru_stime'))
  start, cpu_start = time.perf_counter(), cpu()
  if how == 'old':  # the builder before ndjson.py and npz_write.py
    import itertools  # pylint: disable=g-import-not-at-top
    sketches, words, _ = datasets.build(itertools.chain.from_iterable(
        datasets.read_ndjson(p) for p in paths))
    data = datasets.split(sketches, words, datasets.QUICKDRAW_SPLIT, 0)
    arrays = {}
    for key, value in data.items():
      if key in datasets.SPLITS:
        arrays[key] = np.empty(len(value), dtype=object)
        for i, sketch in enumerate(value):
          arrays[key][i] = sketch
      else:
        arrays[key] = np.asarray(value)
    np.savez_compressed(out, **arrays)
    n = len(sketches)
  else:
    argv = ['sketch_rnn_data', 'ndjson', *paths, '--out=' + out, '--workers=' + how]
    try:
      sketch_rnn_data.run_main(argv)
    except SystemExit as e:
      if e.code:
        raise
    n = None
  print(json.dumps(dict(seconds=time.perf_counter() - start, n=n,
                        cpu=cpu() - cpu_start)))


def benchmark_builder(total, env):
  """The builder rows: the old pipeline, one worker, every core."""
  from sketch_rnn import ndjson  # pylint: disable=g-import-not-at-top
  cores = ndjson.cores()
  print('| drawings | ndjson | builder | workers | s | drawings/s | CPU s | drawings '
        'per CPU s | .npz MB |')
  print('|---|---|---|---|---|---|---|---|---|')
  with tempfile.TemporaryDirectory() as folder:
    for raw in (False, True):
      paths = []
      for k, word in enumerate(('cat', 'dog')):
        paths.append(os.path.join(folder, '%s_%s.ndjson' % (word, raw)))
        make_ndjson(paths[-1], total // 2, raw, seed=k, word=word)
      for how, workers in (('old', 1), ('1', 1), (str(cores), cores)):
        out = os.path.join(folder, 'out.npz')
        r = subprocess.run(
            [sys.executable, os.path.abspath(__file__), '--builder_child', how, out,
             *paths], env=env, capture_output=True, text=True, check=True)
        result = json.loads(r.stdout.strip().splitlines()[-1])
        print('| %d | %s | %s | %d | %.2f | %.0f | %.2f | %.0f | %.1f |' % (
            total, 'raw' if raw else 'simplified', 'old' if how == 'old' else 'new',
            workers, result['seconds'], total / result['seconds'], result['cpu'],
            total / result['cpu'], os.path.getsize(out) / 2**20), flush=True)


def peak_rss():
  """This process's peak resident memory in bytes: VmHWM, which starts afresh at
  exec (ru_maxrss keeps the parent's peak across it, hiding a smaller child's)."""
  try:
    with open('/proc/self/status') as f:
      for line in f:
        if line.startswith('VmHWM:'):
          return int(line.split()[1]) * 1024
  except OSError:
    pass
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(which, folder, name):
  """One load and 50 batches, in this process: prints a JSON line."""
  from sketch_rnn import data  # pylint: disable=g-import-not-at-top
  from sketch_rnn import npz  # pylint: disable=g-import-not-at-top
  from sketch_rnn import hparams  # pylint: disable=g-import-not-at-top
  hps = hparams.get_default_hparams()
  hps.data_set = [name]
  hps.max_seq_len = 250
  base = peak_rss()
  start = time.perf_counter()
  if which != 'old':
    train = data.load_dataset(folder, hps, seed=0, cache=which != 'npz')[0]
  else:
    import zipfile  # pylint: disable=g-import-not-at-top
    from reference_loader import ReferenceLoader  # pylint: disable=g-import-not-at-top
    with zipfile.ZipFile(os.path.join(folder, name)) as archive:  # numpy's arrays
      splits = {s: npz._read_sketches(archive, s + '.npy', s) for s in data.SPLITS}  # pylint: disable=protected-access
    for split in data.SPLITS:  # the old load_npz checked each sketch alone
      for i, sketch in enumerate(splits[split]):
        npz._check_sketch(sketch, '%s %d' % (split, i))  # pylint: disable=protected-access
    train = ReferenceLoader(splits['train'], hps.batch_size, 250,
                            random_scale_factor=hps.random_scale_factor,
                            augment_stroke_prob=hps.augment_stroke_prob,
                            rng=np.random.RandomState(0))
    train.normalize()
    for split in ('valid', 'test'):
      ReferenceLoader(splits[split], 100, 250).normalize(train.scale_factor)
  seconds = time.perf_counter() - start
  peak = peak_rss() - base
  result = dict(seconds=seconds, peak=peak, n=len(train))
  # the old loader has only Magenta's sampler
  result['distinct'] = result['auto'] = float('nan')
  for sampler in ('magenta', 'distinct', 'auto') if which != 'old' else ('magenta',):
    train.sampler = sampler
    times = []
    for _ in range(50):
      t = time.perf_counter()
      train.random_batch()
      times.append(time.perf_counter() - t)
    result[sampler] = 1e3 * float(np.median(times))
  print(json.dumps(result))


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--sizes', default='100000,1000000,10000000')
  parser.add_argument('--old_up_to', type=int, default=1000000,
                      help='time the old loader up to this many sketches')
  parser.add_argument('--npz_up_to', type=int, default=1000000,
                      help='write a .npz up to this many sketches (above: the '
                      'cache directly)')
  parser.add_argument('--builder', type=int, default=0,
                      help='also time the builder on this many ndjson drawings')
  parser.add_argument('--child', nargs=3, help=argparse.SUPPRESS)
  parser.add_argument('--builder_child', nargs='+', help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.child:
    child(*args.child)
    return
  if args.builder_child:
    builder_child(*args.builder_child)
    return
  env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.path.join(REPO, 'tests')]))
  if args.builder:
    benchmark_builder(args.builder, env)
    print()
  if not args.sizes:
    return
  print('| sketches | loader | load s | sketches/s | peak MB | peak / payload | '
        'batch ms, Magenta\'s sampler | batch ms, distinct | batch ms, auto |')
  print('|---|---|---|---|---|---|---|---|---|')
  for size in [int(s) for s in args.sizes.split(',')]:
    with tempfile.TemporaryDirectory() as folder:
      path = os.path.join(folder, 'synth.npz')
      if size > args.npz_up_to:
        points, runs = make_cache(path, size), ['cache']
      else:
        points = make_npz(path, size)
        runs = ['old', 'npz', 'build', 'cache']
        if size > args.old_up_to:
          runs.remove('old')
      payload = points * 6  # int16 x 3
      for which in runs:
        out = subprocess.run(
            [sys.executable, os.path.abspath(__file__), '--child', which, folder,
             'synth.npz'], env=env, capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        total = size + 2 * max(100, size // 28)
        print('| %d | %s | %.2f | %.0f | %.0f | %.2f | %.2f | %.2f | %.2f |' % (
            size, which, r['seconds'], total / r['seconds'], r['peak'] / 2**20,
            r['peak'] / payload, r['magenta'], r['distinct'], r['auto']), flush=True)


if __name__ == '__main__':
  main()
