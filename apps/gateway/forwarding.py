"""Who the client is and what a proxy told us: X-Forwarded-* is believed only from configured proxies
(the load balancer), so a client cannot choose its own address for rate limits and logs."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from multidict import CIMultiDictProxy

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Forwarded:
    client: str  # the client's address as best known
    chain: str  # the X-Forwarded-For value to send upstream
    proto: str
    host: str


def _parse(address: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(address.strip())
    except ValueError:
        return None


class ForwardingPolicy:
    def __init__(self, trusted: Sequence[IpNetwork]) -> None:
        self.trusted = tuple(trusted)

    def is_trusted(self, address: IpAddress | None) -> bool:
        return address is not None and any(address in network for network in self.trusted)

    def resolve(self, peer: str | None, headers: CIMultiDictProxy[str], scheme: str, host: str) -> Forwarded:
        peer = peer or "unknown"
        if not self.trusted:
            # The common case in tests and behind no proxy: nothing to parse.
            return Forwarded(client=peer, chain=peer, proto=scheme, host=host)
        peer_ip = _parse(peer)
        if not self.is_trusted(peer_ip):
            return Forwarded(client=peer, chain=peer, proto=scheme, host=host)
        hops = [hop.strip() for value in headers.getall("X-Forwarded-For", ()) for hop in value.split(",")]
        hops = [hop for hop in hops if hop]
        # Walk from the nearest hop outwards: the first address not ours is the client; anything further
        # left was written by the client and cannot be believed.
        client = peer
        for hop in reversed(hops):
            hop_ip = _parse(hop)
            if hop_ip is None:
                break
            client = str(hop_ip)
            if not self.is_trusted(hop_ip):
                break
        chain = ", ".join([*hops, peer]) if hops else peer
        proto = headers.get("X-Forwarded-Proto", scheme).split(",")[0].strip().lower()
        forwarded_host = headers.get("X-Forwarded-Host", host).split(",")[0].strip()
        return Forwarded(
            client=client,
            chain=chain,
            proto=proto if proto in ("http", "https") else scheme,
            host=forwarded_host or host,
        )
