"""The ``tblog`` command line: one module per command, each owning its parser lines."""
