"""Data-parallel training with tf.distribute, on CPU: two logical devices and two
worker processes on 127.0.0.1."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from sketch_rnn import checkpoints
from sketch_rnn import distribute
from sketch_rnn import model as sketch_rnn_model

from conftest import BUNDLED, REPO, tiny_text

TINY = tiny_text()
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', PYTHONUNBUFFERED='1')

MIRRORED_VS_ONE_DEVICE = textwrap.dedent('''
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices('CPU')[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from sketch_rnn import distribute, model as M, utils
    hps = M.get_default_hparams().parse(sys.argv[1])
    train, _, _, hps, _, _ = utils.load_dataset(sys.argv[2], hps, seed=0)
    _, x, s = train.random_batch()
    eps = np.random.RandomState(1).normal(size=(hps.batch_size, hps.z_size))
    eps = (eps * hps.scale).astype(np.float32)
    single = M.Model(hps, seed=3)
    with tf.GradientTape() as tape:
      out = single(x, s, eps=tf.constant(eps))
      cost = out['r_cost'] + 0.3 * out['kl_cost']
    grads = tape.gradient(cost, single.trainable_variables)
    strategy = tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])
    with strategy.scope():
      model = M.Model(hps, seed=3)
      adam = M.Adam(model.trainable_variables)
    steps = distribute.DistributedSteps(strategy, model, adam, hps.batch_size)
    d_cost, d_r, d_kl, d_grads = steps.gradients(x, s, 0.3, eps=eps)
    noise = strategy.run(tf.function(lambda: model.generator.normal([6])))
    noise = [v.numpy().tolist() for v in strategy.experimental_local_results(noise)]
    print(json.dumps(dict(
        noise=noise,
        replicas=strategy.num_replicas_in_sync,
        cost=[float(cost), float(d_cost)],
        r_cost=[float(out['r_cost']), float(d_r)],
        kl_cost=[float(out['kl_cost']), float(d_kl)],
        grad_rel=[float(np.max(np.abs(a.numpy() - b.numpy())) /
                        (np.max(np.abs(a.numpy())) + 1e-12))
                  for a, b in zip(grads, d_grads)])))
''')


@pytest.mark.slow
@pytest.mark.parametrize('tolerance', [0.2, 50.0])  # KL above and below the floor
def test_mirrored_on_two_devices_equals_one_device(tolerance):
  hparams = TINY + (',use_recurrent_dropout=0,kl_tolerance=%s,scale=1.0' % tolerance)
  proc = subprocess.run([sys.executable, '-c', MIRRORED_VS_ONE_DEVICE, hparams, BUNDLED],
                        cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300,
                        check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  r = json.loads(proc.stdout.strip().splitlines()[-1])
  assert r['replicas'] == 2
  for key in ('cost', 'r_cost', 'kl_cost'):
    assert r[key][1] == pytest.approx(r[key][0], rel=1e-5), key
  assert max(r['grad_rel']) < 1e-5
  # each replica draws its own eps and dropout masks: no repeated noise
  assert r['noise'][0] != r['noise'][1]


def _free_ports(n):
  socks = [socket.socket() for _ in range(n)]
  for s in socks:
    s.bind(('127.0.0.1', 0))
  ports = [s.getsockname()[1] for s in socks]
  for s in socks:
    s.close()
  return ports


def _workers(log_root, hparams, *extra):
  ports = _free_ports(2)
  procs = []
  for index in range(2):
    tf_config = {'cluster': {'worker': ['127.0.0.1:%d' % p for p in ports]},
                 'task': {'type': 'worker', 'index': index}}
    procs.append(subprocess.Popen(
        [sys.executable, '-m', 'sketch_rnn.sketch_rnn_train', '--log_root=' + log_root,
         '--data_dir=' + BUNDLED, '--seed=5', '--num_samples=0',
         '--distribution_strategy=multi_worker', '--hparams=' + hparams, *extra],
        cwd=REPO, env=dict(ENV, TF_CONFIG=json.dumps(tf_config)),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
  return procs


@pytest.mark.slow
def test_two_workers_train_and_the_chiefs_checkpoint_continues_on_one_device(tmp_path):
  log_root = str(tmp_path / 'run')
  procs = _workers(log_root, TINY + ',num_steps=25,save_every=10')
  outs = [p.communicate(timeout=300)[0] for p in procs]
  for p, out in zip(procs, outs):
    assert p.returncode == 0, out[-3000:]
  assert 'CollectiveAllReduceStrategy with 2 replicas (chief); global batch 8.' in outs[0]
  assert '(worker); global batch 8.' in outs[1]
  costs = [re.findall(r'step: 20, .* cost: (\S+),', out) for out in outs]
  assert costs[0] and costs[0] == costs[1]  # one model, one global batch
  # only the chief wrote: one events file, and the worker's temporary folder is gone
  assert len([f for f in os.listdir(log_root) if f.startswith('events')]) == 1
  assert not re.search(r'sketch_rnn_worker_', ' '.join(os.listdir(log_root)))
  hps = checkpoints.read_model_config(log_root, sketch_rnn_model.get_default_hparams())
  run = checkpoints.RunCheckpoint(log_root, sketch_rnn_model.Model(hps, seed=0))
  assert run.restore()[0] == 25
  proc = subprocess.run(
      [sys.executable, '-m', 'sketch_rnn.sketch_rnn_train', '--log_root=' + log_root,
       '--data_dir=' + BUNDLED, '--num_samples=0', '--resume_training',
       '--distribution_strategy=one_device', '--hparams=num_steps=35'],
      cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300, check=False)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert re.search(r'Resumed \S+vector-25 at step 25', proc.stderr)
  again = checkpoints.RunCheckpoint(log_root, sketch_rnn_model.Model(hps, seed=0))
  assert again.restore()[0] == 35


@pytest.mark.slow
def test_a_killed_worker_fails_the_other_with_a_clear_message(tmp_path):
  procs = _workers(str(tmp_path / 'run'), TINY + ',num_steps=100000,save_every=1000',
                   '--collective_timeout=30')
  chief, worker = procs
  lines = []
  deadline = time.time() + 240
  for line in chief.stdout:
    lines.append(line)
    if re.search(r'step: 20, ', line) or time.time() > deadline:
      break
  assert any('step: 20, ' in l for l in lines), ''.join(lines)[-3000:]
  worker.send_signal(signal.SIGKILL)
  killed = time.time()
  out = ''.join(lines) + chief.communicate(timeout=120)[0]
  waited = time.time() - killed
  worker.communicate()
  assert chief.returncode == 1, out[-3000:]
  errors = [l for l in out.splitlines() if 'sketch_rnn_train: error:' in l]
  assert len(errors) == 1 and 'a worker of the cluster failed or stopped answering' in (
      errors[0]) and 'restart all workers with --resume_training' in errors[0], out[-2000:]
  assert waited < 90


def test_strategy_choice_and_chief():
  assert isinstance(distribute.make_strategy('one_device'),
                    distribute.tf.distribute.OneDeviceStrategy)
  assert isinstance(distribute.make_strategy('auto'),
                    distribute.tf.distribute.OneDeviceStrategy)  # no GPUs here
  with pytest.raises(distribute.UsageError, match='expected one of auto, one_device'):
    distribute.make_strategy('parameter_server')
  env = os.environ.pop('TF_CONFIG', None)
  try:
    with pytest.raises(distribute.UsageError, match='needs the TF_CONFIG'):
      distribute.make_strategy('multi_worker')
  finally:
    if env is not None:
      os.environ['TF_CONFIG'] = env

  class Resolver:
    def __init__(self, cluster, task_type, task_id):
      self.task_type, self.task_id, self._cluster = task_type, task_id, cluster
    def cluster_spec(self):
      return type('Spec', (), {'as_dict': lambda _: self._cluster})()

  class Strategy:
    def __init__(self, resolver):
      self.cluster_resolver = resolver

  workers = {'worker': ['a:1', 'b:2']}
  assert distribute.is_chief(Strategy(Resolver(workers, 'worker', 0)))
  assert not distribute.is_chief(Strategy(Resolver(workers, 'worker', 1)))
  with_chief = {'chief': ['c:0'], 'worker': ['a:1']}
  assert distribute.is_chief(Strategy(Resolver(with_chief, 'chief', 0)))
  assert not distribute.is_chief(Strategy(Resolver(with_chief, 'worker', 0)))
  assert distribute.is_chief(Strategy(None))


def test_batch_must_split_over_replicas():
  class Two:
    num_replicas_in_sync = 2
  with pytest.raises(distribute.UsageError, match='batch_size=7 does not split over 2'):
    distribute.DistributedSteps(Two(), None, None, 7)
