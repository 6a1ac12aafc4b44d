"""`python -m fleetdeck`: the same as the `fleetdeck` command."""

from fleetdeck.main import main

raise SystemExit(main())
