"""`hub keys`: the signers a namespace trusts (add, list, revoke) and its `require_signatures` policy."""

from __future__ import annotations

import argparse
from pathlib import Path

from sdk.client import Hub


def add_keys_verbs(verbs: argparse._SubParsersAction) -> None:
    keys = verbs.add_parser("keys", help="signers a namespace trusts: add, list, revoke, require")
    key_verbs = keys.add_subparsers(dest="keys_verb", required=True, metavar="VERB")
    add = key_verbs.add_parser("add", help="trust a public key (PEM), or --ca CA.pem for --identity (owners)")
    add.add_argument("namespace", metavar="NS")
    add.add_argument("pem", type=Path, nargs="?", metavar="PUB.pem", help="an EC public key")
    add.add_argument("--name", default="", help="a label shown with signed versions")
    add.add_argument("--ca", type=Path, metavar="CA.pem", help="a CA certificate, with --identity")
    add.add_argument("--identity", help="the e-mail, URI or name the CA's signing certificate must carry")
    add.set_defaults(run=_add)
    listing = key_verbs.add_parser("list", help="the namespace's signers, revoked ones included")
    listing.add_argument("namespace", metavar="NS")
    listing.set_defaults(run=_list)
    revoke = key_verbs.add_parser("revoke", help="revoke a signer: what it signed reads trusted: false (owners)")
    revoke.add_argument("namespace", metavar="NS")
    revoke.add_argument("key_id", metavar="KEY_ID")
    revoke.set_defaults(run=_revoke)
    require = key_verbs.add_parser("require", help="refuse unsigned publishes to NS (on) or accept them (off)")
    require.add_argument("namespace", metavar="NS")
    require.add_argument("state", choices=("on", "off"))
    require.set_defaults(run=_require)


def _add(args: argparse.Namespace) -> int:
    from sdk.cli import CommandError  # here: sdk.cli imports this module

    if (args.pem is None) == (args.ca is None) or (args.ca is not None and not args.identity):
        raise CommandError("give PUB.pem, or --ca CA.pem with --identity")
    with Hub() as hub:
        if args.ca is not None:
            ca = args.ca.read_text(encoding="ascii")
            added = hub.add_signer(args.namespace, name=args.name, ca_certificate=ca, identity=args.identity)
        else:
            added = hub.add_signer(args.namespace, args.pem.read_text(encoding="ascii"), name=args.name)
    print(f"Trusted in {args.namespace}: {added['kind']} {added['key_id']} {added['identity'] or added['name']}")
    return 0


def _list(args: argparse.Namespace) -> int:
    with Hub() as hub:
        signers = hub.signers(args.namespace)
    for signer in signers:
        state = f"revoked {signer['revoked_at']}" if signer["revoked_at"] else "trusted"
        print(f"{signer['key_id']}  {signer['kind']:<11}  {state:<8}  {signer['identity'] or signer['name'] or '-'}")
    if not signers:
        print(f"{args.namespace} trusts no signer yet.")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    with Hub() as hub:
        revoked = hub.revoke_signer(args.namespace, args.key_id)
    print(f"Revoked {revoked['key_id']} in {args.namespace}; the versions it signed now read trusted: false.")
    return 0


def _require(args: argparse.Namespace) -> int:
    with Hub() as hub:
        hub.require_signatures(args.namespace, args.state == "on")
    print(f"{args.namespace}: unsigned publishes are {'refused' if args.state == 'on' else 'accepted'}.")
    return 0
