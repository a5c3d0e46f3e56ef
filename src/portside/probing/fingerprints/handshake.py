"""TLS: a handshake through memory BIOs (no socket), naming version, ALPN and the certificate, unverified.

The probe describes whatever certificate it meets rather than judging it. ALPN offers h2
and http/1.1, so the answer says what a browser would get. `ssl` is imported where a
handshake starts: a probe or doctor run that never meets TLS does not pay for it.
"""

from __future__ import annotations

from portside._typing import TYPE_CHECKING
from portside.probing.fingerprints.verdict import NOT_MINE, Details, Verdict

if TYPE_CHECKING:
    import ssl


def unverified_context(alpn: list[str]) -> ssl.SSLContext:
    """A client context that describes whatever certificate it meets rather than judging it."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(alpn)
    return context


class Tls:
    """A ClientHello and the handshake after it, fed through memory BIOs."""

    name = "tls"

    def __init__(self, server_name: str | None) -> None:
        import ssl

        context = unverified_context(["h2", "http/1.1"])
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_hostname=server_name)
        self.fed = 0

    def _step(self) -> Verdict | bytes | None:
        import ssl

        try:
            self.tls.do_handshake()
        except ssl.SSLWantReadError:
            return self.outgoing.read() or None
        except ssl.SSLError as error:
            return Verdict("tls", {"error": error.reason or str(error)})
        return Verdict("tls", {"version": self.tls.version(), "alpn": self.tls.selected_alpn_protocol(),
                               "cipher": (self.tls.cipher() or ("",))[0],
                               **certificate_details(self.tls.getpeercert(binary_form=True))},
                       farewell=self._close_notify())

    def _close_notify(self) -> bytes:
        """The alert that ends a TLS session in order, so the server sees a clean close."""
        import ssl

        try:
            self.tls.unwrap()
        except ssl.SSLError:
            pass
        return self.outgoing.read()

    def opening(self) -> bytes:
        step = self._step()
        return step if isinstance(step, bytes) else b""

    def feed(self, data: bytes) -> Verdict | bytes | None:
        if data[:1] not in (b"\x16", b"\x15") or (len(data) > 1 and data[1:2] != b"\x03"):
            return NOT_MINE
        self.incoming.write(data[self.fed :])
        self.fed = len(data)
        return self._step()

    def at_eof(self, data: bytes) -> Verdict:
        if data[:2] in (b"\x15\x03", b"\x16\x03"):
            return Verdict("tls", {"error": "closed during the handshake"})
        return NOT_MINE


def certificate_details(der: bytes | None) -> Details:
    """Subject, issuer, names and expiry of a DER certificate (not verified: we only describe it)."""
    if not der:
        return {}
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName
        )
    except x509.ExtensionNotFound:
        names = []
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "dns_names": list(names),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "self_signed": cert.subject == cert.issuer,
    }
