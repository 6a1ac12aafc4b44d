"""The family groups `/metrics` serves, in page order: the one list to extend.

A new group (router backends, cost, ...) is a module beside these with a
`families(snapshot)` function (family_group.FamilyGroup) that reads only the snapshot,
and one line here; tests/unit/test_export_collector.py checks every group's names.
"""

from __future__ import annotations

from fleetdeck.core.export import (
    deployment_families,
    gpu_families,
    host_families,
    replica_families,
)
from fleetdeck.core.export.family_group import FamilyGroup

GROUPS: tuple[FamilyGroup, ...] = (
    host_families.families,
    gpu_families.families,
    deployment_families.families,
    replica_families.families,
)
