"""Reading an import's file: batches in address order, bounded memory, coverage."""

from __future__ import annotations

import pytest

from scanner.history import PortSet, compact_addresses, merge_coverage
from scanner.import_read import HostBatches
from scanner.nmap_xml import HostResult, PortRanges


def host(address: str) -> HostResult:
    return HostResult(address, 4, "up")


@pytest.mark.parametrize("spill_after", [3, 100])
def test_batches_hold_every_host_in_address_order_spilling_past_the_limit(
        spill_after: int) -> None:
    addresses = [f"10.0.0.{i}" for i in (9, 1, 10, 2, 100, 3, 11)]
    batches = HostBatches(2, spill_after=spill_after)
    for a in addresses:
        batches.add(host(a))
    batches.seal()
    got = [[h.address for h in b] for b in batches]
    try:
        assert sorted(a for b in got for a in b) == sorted(addresses)  # none lost or doubled
        assert all(len(b) <= 2 for b in got) and batches.count == 7
        if spill_after == 100:  # all in memory: one order, by address text
            assert [a for b in got for a in b] == sorted(addresses)
        else:  # each group of three sorted on its own; the groups in file order
            assert got[:2] == [["10.0.0.1", "10.0.0.10"], ["10.0.0.9"]]
        assert [[h.address for h in b] for b in batches] == got  # can be read again
    finally:
        batches.close()


def test_addresses_compact_to_the_fewest_cidrs() -> None:
    v4 = [int.from_bytes(bytes([10, 20, i >> 8, i & 255]), "big") for i in range(65536)]
    assert compact_addresses({4: v4}) == ["10.20.0.0/16"]
    assert compact_addresses({4: [1, 2, 3, 5, 3], 6: [1]}) == [
        "0.0.0.1/32", "0.0.0.2/31", "0.0.0.5/32", "::1/128"]
    assert compact_addresses({}) == []


def test_a_live_scans_coverage_grows_batch_by_batch() -> None:
    first = merge_coverage({}, ["127.0.1.0/25"], {"tcp": PortRanges.parse("22,80")})
    both = merge_coverage(first, ["127.0.1.128/25"], {"tcp": PortRanges.parse("443")})
    assert both == {"addresses": ["127.0.1.0/24"], "ports": {"tcp": "22,80,443"}}


def test_port_sets() -> None:
    some = PortSet({"tcp": PortRanges.parse("1-1024")})
    assert some.covers("tcp", 22) and not some.covers("tcp", 3306)
    assert not some.covers("udp", 53)
    both = PortSet.union([some, PortSet({"tcp": PortRanges.parse("3306")})])
    assert both.covers("tcp", 3306) and both.covers("tcp", 1)
    assert PortSet.union([some, PortSet(None)]).covers("udp", 9)  # unknown: every port
