"""TLS for the chief's oracle service, with gRPC's own credentials.

KerasTuner serves its oracle without authentication or encryption. With
`--tls-cert/--tls-key` the chief serves TLS; with `--tls-ca` as well it
also demands that each worker present a certificate signed by that CA
(mutual TLS), so only holders of such a certificate can read the search or
report results. A worker trusts the chief through `--tls-ca` and presents
its own `--tls-cert/--tls-key`.
"""

import dataclasses
import ipaddress
import os

from tuning.errors import UsageError

MAX_PEM_BYTES = 1 << 20  # a long certificate chain is tens of KB


@dataclasses.dataclass(frozen=True)
class TLS:
    """PEM bytes: this process's certificate chain and key, and the CA that
    signs its peers' certificates (each may be None)."""

    cert: bytes = None
    key: bytes = None
    ca: bytes = None

    def server_credentials(self):
        import grpc

        return grpc.ssl_server_credentials(
            [(self.key, self.cert)], root_certificates=self.ca, require_client_auth=self.ca is not None
        )

    def channel_credentials(self):
        import grpc

        return grpc.ssl_channel_credentials(
            root_certificates=self.ca, private_key=self.key, certificate_chain=self.cert
        )


def read_credentials(role, cert=None, key=None, ca=None):
    """The TLS settings of `--tls-cert/--tls-key/--tls-ca`, None without
    them, or UsageError."""
    if not (cert or key or ca):
        return None
    if not role:
        raise UsageError("--tls-cert, --tls-key and --tls-ca go with --role chief or --role worker")
    if bool(cert) != bool(key):
        raise UsageError("--tls-cert and --tls-key go together")
    if role == "chief" and not cert:
        raise UsageError(
            "--role chief serves TLS with --tls-cert and --tls-key (--tls-ca adds worker certificates)"
        )
    if role == "worker" and not ca:
        raise UsageError("--role worker needs --tls-ca, the CA that signed the chief's certificate")
    return TLS(
        *(
            _read_pem(option, path)
            for option, path in (("--tls-cert", cert), ("--tls-key", key), ("--tls-ca", ca))
        )
    )


def _read_pem(option, path):
    if path is None:
        return None
    try:
        if os.path.exists(path) and not os.path.isfile(path):  # a FIFO would block the read
            raise UsageError(f"cannot read {option} {path}: not a regular file")
        if os.path.getsize(path) > MAX_PEM_BYTES:
            raise UsageError(
                f"{option} {path} is over {MAX_PEM_BYTES >> 10} KB; not a PEM certificate or key"
            )
        with open(path, "rb") as f:
            data = f.read()
    except OSError as error:
        raise UsageError(f"cannot read {option} {path}: {error.strerror}") from None
    if b"-----BEGIN " not in data:
        raise UsageError(f"{option} {path} is not a PEM file")
    return data


def is_loopback(host):
    """Whether `host` (an address or `localhost`) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False


def check_exposure(host, port, tls, insecure):
    """A chief may serve beyond loopback only with mutual TLS, since any
    client that reaches its port can read the search, end trials with
    results of its choosing and keep the chief waiting; `--insecure` allows
    it anyway (returned: a warning line to print). None when all is well.

    Raises:
        UsageError: for such an address without mutual TLS or `--insecure`.
    """
    if is_loopback(host) or (tls and tls.ca):
        return None
    shown = f"[{host}]:{port}" if ":" in host else f"{host or '*'}:{port}"
    guard = "with TLS but no worker certificates" if tls else "without TLS"
    if not insecure:
        raise UsageError(
            f"the chief would serve {shown} {guard}: any client that reaches it could read the search "
            "and report trials of its own; add --tls-ca (workers' CA) with --tls-cert/--tls-key, "
            "serve on 127.0.0.1, or pass --insecure on a network you trust"
        )
    return (
        f"warning: --insecure: the chief serves the oracle at {shown} {guard}; anyone who reaches "
        "the port can read the search and report trials"
    )
