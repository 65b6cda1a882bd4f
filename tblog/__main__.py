"""``python -m tblog``: the tblog command line."""

from tblog.cli import main

raise SystemExit(main())
