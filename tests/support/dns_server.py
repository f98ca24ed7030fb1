"""A tiny authoritative DNS server on 127.0.0.1 (UDP, plus TCP for truncated answers)."""

from __future__ import annotations

import socket
import threading

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

__all__ = ["DnsServer"]


class DnsServer:
    """Answers from ``records`` (``{("name", "A"): ["10.0.0.1"]}``); unknown names get NXDOMAIN.

    ``rcodes`` forces a response code per name (``{"broken.test": "SERVFAIL"}``);
    ``silent`` names get no answer at all (to test timeouts).
    """

    def __init__(
        self,
        records: dict[tuple[str, str], list[str]] | None = None,
        *,
        rcodes: dict[str, str] | None = None,
        silent: set[str] | None = None,
    ) -> None:
        self.records = {(_norm(n), t.upper()): v for (n, t), v in (records or {}).items()}
        self.rcodes = {_norm(n): r for n, r in (rcodes or {}).items()}
        self.silent = {_norm(n) for n in (silent or set())}
        self.queries: list[tuple[str, str]] = []
        self.peers: list[str] = []  # the address each query came from
        self.turns: dict[tuple[str, str], list[list[str]]] = {}
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self.host = "127.0.0.1"
        self.port: int = self._sock.getsockname()[1]
        self.address = f"{self.host}:{self.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, client = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.peers.append(client[0])
            try:
                query = dns.message.from_wire(wire)
            except Exception:
                continue
            response = self._answer(query)
            if response is not None:
                self._sock.sendto(response.to_wire(), client)

    def _answer(self, query: dns.message.Message) -> dns.message.Message | None:
        question = query.question[0]
        name = _norm(question.name.to_text())
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype))
        if name in self.silent:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if name in self.rcodes:
            response.set_rcode(dns.rcode.from_text(self.rcodes[name]))
            return response
        if not any(n == name for n, _ in self.records):
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        turns = self.turns.get((name, rdtype))
        if turns:
            # One answer per query in turn, the last one for good (a name that rebinds).
            self.records[(name, rdtype)] = turns.pop(0) if len(turns) > 1 else turns[0]
        values = self.records.get((name, rdtype))
        if values:
            response.answer.append(dns.rrset.from_text_list(question.name, 300, "IN", rdtype, values))
        return response

    def set(self, name: str, rdtype: str, values: list[str]) -> None:
        """Answer ``values`` for (name, type) from now on."""
        self.turns.pop((_norm(name), rdtype.upper()), None)
        self.records[(_norm(name), rdtype.upper())] = values

    def answer_in_turn(self, name: str, rdtype: str, answers: list[list[str]]) -> None:
        """Answer the first query with answers[0], the next with answers[1], …, then the last for good."""
        key = (_norm(name), rdtype.upper())
        self.records.setdefault(key, answers[0])
        self.turns[key] = [list(a) for a in answers]

    def stop(self) -> None:
        """Stop answering."""
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()

    def __enter__(self) -> DnsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _norm(name: str) -> str:
    return dns.name.from_text(name).to_text().lower()
