"""IP addresses, pure: whom the per-address limits count, and where a private chat may point.

- `source_key`: the unit the server's per-address limits count. IPv4: the address. IPv6: its
  /64 network, since one machine commonly holds a whole /64 and may pick a fresh address in it
  for every connection. An IPv4 address written as IPv6 (`::ffff:10.0.0.1`, seen by a
  dual-stack listener) counts as the IPv4 address.
- `is_peer_address`: what `private_answer` may give as `host` (chat/1 precise point 12 and
  docs/PROTOCOL.md, "Parley's choices"): an IP address literal the requester's client can
  connect to. Not a name (the requester would resolve whatever the answerer chose), no IPv6
  scope (`%eth0` means nothing on another machine and may carry any text), and none of the
  addresses no peer listens on: unspecified, multicast, link-local (where cloud metadata
  services answer, 169.254.169.254) and IPv4's reserved 240.0.0.0/4 with the broadcast.
"""

from __future__ import annotations

import ipaddress

_IPV6_NETWORK_BITS = 64


def _parse(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def source_key(host: str) -> str:
    """The key the per-address limits count `host` under (see the module docstring)."""
    address = _parse(host)
    if address is None:
        return host  # not an IP address (a test double's name, say): itself
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, _IPV6_NETWORK_BITS), strict=False))
    return str(address)


def is_peer_address(host: str) -> bool:
    """Whether a private chat may send the requester to `host` (see the module docstring)."""
    if "%" in host:
        return False
    address = _parse(host)
    if address is None:
        return False
    if address.is_unspecified or address.is_multicast or address.is_link_local:
        return False
    return not (isinstance(address, ipaddress.IPv4Address) and address.is_reserved)
