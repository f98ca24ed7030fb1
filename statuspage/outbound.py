"""Where requests to user-configured addresses may go (webhooks today; any later outbound feature too).

A user with a write token, or a responder in the console, chooses a webhook URL; the worker then
connects to it from inside the operator's network. Unchecked, that is server-side request forgery:
``http://169.254.169.254/`` (cloud metadata), ``http://127.0.0.1:6379/``, an admin port on the LAN.

The policy:

* The URL is absolute http(s); its host is resolved, and **every** address it resolves to must be a
  public one. Loopback, link-local, private, shared (CGNAT), multicast, reserved, unspecified,
  benchmarking and documentation ranges are refused, and so are IPv6 forms that carry such an IPv4
  address (IPv4-mapped, 6to4, Teredo, NAT64). Numeric spellings of IPv4 (``0x7f000001``,
  ``2130706433``, ``127.1``) are read the way the C library reads them, so they are judged by the
  address they mean.
* The check runs when the URL is saved (a clear error for whoever typed it) **and** at every send, and
  the connection goes to the very address that was checked — no second lookup — so a name that
  re-resolves to an internal address later (DNS rebinding) is refused at send time.
* Operators with internal receivers list their networks in ``STATUSPAGE_OUTBOUND_ALLOW`` (CIDR).
* Errors are short and name the kind of address, never the reply body or the URL (a Slack hook URL
  is a secret, and read-only roles see delivery errors).

Checks (the probe engine) are not subject to this policy: probing internal endpoints is their job,
and only admins define them.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import dns.exception
import dns.resolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
MAX_URL = 1000


class OutboundRefused(ValueError):
    """A user-configured URL that the policy refuses; the message is short and safe to show anyone.

    ``permanent`` is False when trying again later can help (the name did not resolve just now).
    """

    def __init__(self, message: str, *, permanent: bool = True):
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Target:
    """A vetted URL: where to connect (``addresses``, all checked) and what to ask for."""

    scheme: str
    host: str  # as written (IDNA-encoded), for the Host header and TLS server name
    port: int
    path: str  # path and query, at least "/"
    addresses: tuple[IPAddress, ...]
    username: str | None = None
    password: str | None = None


def address_problem(address: IPAddress) -> str | None:
    """Why ``address`` is not a public destination ("a loopback address", …), or None if it is one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return address_problem(embedded)
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_reserved:
        return "a reserved address"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "an address that is not publicly routable"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """``"10.20.0.0/16, 192.168.5.7"`` → networks; ValueError naming the entry that is not one."""
    out = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP network (e.g. 10.20.0.0/16 or 192.168.5.7)") from None
    return tuple(out)


def parse_nameserver(text: str) -> tuple[str, int]:
    """``"ip"``, ``"ip:port"`` or ``"[v6]:port"`` → (ip, port); ValueError otherwise."""
    host, port = text.strip(), 53
    if host.startswith("["):
        close = host.find("]")
        if close < 0 or (host[close + 1:] and not host[close + 1:].startswith(":")):
            raise ValueError(f"{text!r}: expected [address]:port")
        host, port_text = host[1:close], host[close + 2:]
        port = int(port_text) if port_text.isdecimal() else (53 if not port_text else -1)
    elif host.count(":") == 1:
        host, _, port_text = host.partition(":")
        port = int(port_text) if port_text.isdecimal() else -1
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{text!r}: expected an IP address, optionally with :port") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"{text!r}: the port must be 1-65535")
    return host, port


def _literal(host: str) -> IPAddress | None:
    """The address a host names without DNS: an IP literal, or a numeric IPv4 form inet_aton accepts."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(ch in "0123456789abcdefxABCDEFX." for ch in host) and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


@dataclass(frozen=True)
class OutboundPolicy:
    """The rules above, with the operator's allow-list and (optionally) the nameserver to resolve with."""

    allow: tuple[IPNetwork, ...] = ()
    nameserver: tuple[str, int] | None = None  # None: the system resolver (getaddrinfo)
    timeout: float = 5.0

    @classmethod
    def from_settings(cls, settings) -> OutboundPolicy:
        """The policy the operator configured (STATUSPAGE_OUTBOUND_ALLOW, STATUSPAGE_OUTBOUND_NAMESERVER)."""
        return cls(allow=tuple(settings.outbound_allow), nameserver=settings.outbound_nameserver)

    def allowed(self, address: IPAddress) -> bool:
        """Whether ``address`` may be connected to: public, or inside an allow-listed network."""
        if any(address.version == net.version and address in net for net in self.allow):
            return True
        return address_problem(address) is None

    def check_url(self, url: str) -> Target:
        """Parse, resolve and vet ``url``; OutboundRefused with a short reason when it may not be used."""
        url = (url or "").strip()
        if len(url) > MAX_URL:
            raise OutboundRefused(f"the URL is longer than {MAX_URL} characters")
        if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
            raise OutboundRefused("the URL must not contain spaces, line breaks or control characters")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise OutboundRefused("the URL is not well formed (check the host and port)") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OutboundRefused("enter an absolute http(s) URL")
        if "\\" in parts.netloc:
            raise OutboundRefused("the URL's host part must not contain a backslash")
        host = parts.hostname.rstrip(".")
        try:
            host_idna = host.encode("idna").decode("ascii") if not host.isascii() else host
        except UnicodeError:
            raise OutboundRefused("the host name is not a valid domain name") from None
        port = port or (443 if parts.scheme == "https" else 80)
        if port == 0:
            raise OutboundRefused("the port must be 1-65535")
        addresses = self.resolve(host_idna)
        for address in addresses:
            if not self.allowed(address):
                problem = address_problem(address)
                what = "is" if _literal(host_idna) is not None else "resolves to"
                raise OutboundRefused(f"{host_idna} {what} {problem}; outbound requests go to public "
                                      f"addresses only (an operator can allow internal networks with "
                                      f"STATUSPAGE_OUTBOUND_ALLOW)")
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return Target(scheme=parts.scheme, host=host_idna, port=port, path=path, addresses=addresses,
                      username=unquote(parts.username) if parts.username is not None else None,
                      password=unquote(parts.password) if parts.password is not None else None)

    def resolve(self, host: str) -> tuple[IPAddress, ...]:
        """Every address ``host`` resolves to now (an IP literal is itself); OutboundRefused if none."""
        literal = _literal(host)
        if literal is not None:
            return (literal,)
        if self.nameserver is not None:
            found = self._resolve_with_nameserver(host)
        else:
            found = self._resolve_with_system(host)
        if not found:
            raise OutboundRefused(f"{host} does not resolve to any address", permanent=False)
        return tuple(dict.fromkeys(found))

    def _resolve_with_system(self, host: str) -> list[IPAddress]:
        try:
            infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            return []
        return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]

    def _resolve_with_nameserver(self, host: str) -> list[IPAddress]:
        assert self.nameserver is not None
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [self.nameserver[0]]
        resolver.port = self.nameserver[1]
        resolver.lifetime = self.timeout
        found: list[IPAddress] = []
        for rdtype in ("A", "AAAA"):
            try:
                answer = resolver.resolve(host, rdtype, search=False)
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers):
                continue
            except dns.exception.Timeout:
                raise OutboundRefused(f"looking up {host} timed out", permanent=False) from None
            except dns.exception.DNSException:
                continue
            found.extend(ipaddress.ip_address(r.to_text()) for r in answer)
        return found


def mask_url(url: str | None) -> str | None:
    """A URL with its secrets hidden, for everyone but admins: credentials, query and path tokens.

    ``https://user:pw@hooks.slack.com/services/T0/B0/XyZ?token=1`` →
    ``https://***@hooks.slack.com/services/***``: the scheme, host and port stay (enough to recognise
    the receiver), the first path segment stays, the rest of the path and the query do not.
    """
    if not url:
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "***"
    if not parts.scheme or not host:
        return "***"
    if ":" in host:
        host = f"[{host}]"
    userinfo = "***@" if parts.username is not None or parts.password is not None else ""
    segments = [s for s in parts.path.split("/") if s]
    path = ""
    if segments:
        path = "/" + segments[0] + ("/***" if len(segments) > 1 else "")
    if parts.query or parts.fragment:
        path += ("" if path else "/") + "?***"
    return f"{parts.scheme}://{userinfo}{host}{port}{path}"



def mask_credentials(target: str | None) -> str | None:
    """A check target with its credentials hidden (user:password and query values); the path stays.

    ``https://u:p@api.example/health?key=abc`` → ``https://***@api.example/health?key=***``; a
    ``host:port`` target has none and comes back unchanged.
    """
    if not target or "://" not in target:
        return target
    try:
        parts = urlsplit(target)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "***"
    if ":" in host:
        host = f"[{host}]"
    userinfo = "***@" if parts.username is not None or parts.password is not None else ""
    query = "&".join(f"{pair.partition('=')[0]}=***" for pair in parts.query.split("&") if pair)
    return f"{parts.scheme}://{userinfo}{host}{port}{parts.path}" + (f"?{query}" if query else "")
