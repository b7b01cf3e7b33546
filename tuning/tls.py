"""TLS for the chief's oracle service, with gRPC's own credentials.

KerasTuner serves its oracle without authentication or encryption. With
`--tls-cert/--tls-key` the chief serves TLS; with `--tls-ca` as well it
also demands that each worker present a certificate signed by that CA
(mutual TLS), so only holders of such a certificate can read the search or
report results. A worker trusts the chief through `--tls-ca` and presents
its own `--tls-cert/--tls-key`.
"""

import dataclasses

from tuning.errors import UsageError

ALL_INTERFACES = ("0.0.0.0", "::", "")


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
            [(self.key, self.cert)], root_certificates=self.ca, require_client_auth=self.ca is not None,
        )

    def channel_credentials(self):
        import grpc

        return grpc.ssl_channel_credentials(
            root_certificates=self.ca, private_key=self.key, certificate_chain=self.cert,
        )


def from_args(role, cert=None, key=None, ca=None):
    """The TLS settings of `--tls-cert/--tls-key/--tls-ca`, None without
    them, or UsageError."""
    if not (cert or key or ca):
        return None
    if not role:
        raise UsageError("--tls-cert, --tls-key and --tls-ca go with --role chief or --role worker")
    if bool(cert) != bool(key):
        raise UsageError("--tls-cert and --tls-key go together")
    if role == "chief" and not cert:
        raise UsageError("--role chief serves TLS with --tls-cert and --tls-key (--tls-ca adds worker certificates)")
    if role == "worker" and not ca:
        raise UsageError("--role worker needs --tls-ca, the CA that signed the chief's certificate")
    return TLS(*(_read_pem(option, path) for option, path in
                 (("--tls-cert", cert), ("--tls-key", key), ("--tls-ca", ca))))


def _read_pem(option, path):
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as error:
        raise UsageError(f"cannot read {option} {path}: {error.strerror}") from None
    if b"-----BEGIN " not in data:
        raise UsageError(f"{option} {path} is not a PEM file")
    return data


def exposure_warning(host, port, tls):
    """One line for a chief that listens on every interface, or None."""
    if host not in ALL_INTERFACES:
        return None
    shown = f"[{host}]:{port}" if ":" in host else f"{host or '*'}:{port}"
    guard = "with TLS" if tls and tls.ca else "with TLS but no worker certificates" if tls else "without TLS"
    return (
        f"warning: the chief serves the oracle on every interface ({shown}) {guard}: "
        "bind it to the cluster's private address, firewall the port, and use --tls-cert/--tls-key/--tls-ca"
    )
