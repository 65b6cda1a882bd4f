"""The tags TensorBoard's HParams plugin reads: one spelling for the writers and the reader."""

from __future__ import annotations

#: The summary that makes a run an HParams session (its hyperparameter values).
SESSION_START_TAG = "_hparams_/session_start_info"
#: The summary that declares the experiment's hyperparameters and metrics.
EXPERIMENT_TAG = "_hparams_/experiment"
