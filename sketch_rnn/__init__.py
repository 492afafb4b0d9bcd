"""sketch-rnn: a TensorFlow 2 port of Magenta's sketch-rnn with the latent-noise `scale`.

Modules: `model` (hyperparameters, the VAE, losses, train step), `rnn` (the cells),
`utils` (stroke formats, data loading), `sketch_rnn_train` (the training CLI).
"""

__version__ = '0.1.0'
