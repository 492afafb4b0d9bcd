"""files.atomic_write: whole or not at all, with the umask's permissions."""

import os
import stat

import pytest

from sketch_rnn import files


@pytest.fixture
def umask():
  old = os.umask(0o022)
  def set_mask(mask):
    os.umask(mask)
  yield set_mask
  os.umask(old)


@pytest.mark.parametrize('mask, mode', [(0o022, 0o644), (0o002, 0o664),
                                        (0o077, 0o600)])
def test_files_follow_the_umask_like_open(tmp_path, umask, mask, mode):
  umask(mask)
  files.write_text(str(tmp_path / 'a.json'), '{}')
  with open(tmp_path / 'b.json', 'w') as f:  # what open() gives, for reference
    f.write('{}')
  for name in ('a.json', 'b.json'):
    assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == mode, name
  assert open(tmp_path / 'a.json').read() == '{}'


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path):
  path = str(tmp_path / 'model_config.json')
  files.write_text(path, 'old')
  with pytest.raises(RuntimeError):
    with files.atomic_write(path) as f:
      f.write('half of the new')
      raise RuntimeError('disk gone')
  assert open(path).read() == 'old'
  assert os.listdir(tmp_path) == ['model_config.json']
  with files.atomic_write(path, 'wb') as f:
    f.write(b'new')
  assert open(path).read() == 'new' and os.listdir(tmp_path) == ['model_config.json']
