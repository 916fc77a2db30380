"""Signed adapters on the hub: the signers each namespace trusts, its `require_signatures` policy, and the
verification of a version's `model.sig` at commit (sdk/signing holds what a signature covers, for both sides)."""
