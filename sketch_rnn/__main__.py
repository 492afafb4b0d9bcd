"""`python -m sketch_rnn` is `python -m sketch_rnn.sketch_rnn_train`."""
from sketch_rnn.sketch_rnn_train import run_main

run_main()
