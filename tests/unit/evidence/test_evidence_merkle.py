"""The daily Merkle tree: RFC 6962 / 9162 tree heads and inclusion proofs."""

from __future__ import annotations

import hashlib

import pytest

from backend.evidence.merkle import inclusion_proof, merkle_root, verify_inclusion

# Certificate Transparency's reference leaves (RFC 6962 test data) and tree heads.
CT_LEAVES = [
    bytes.fromhex(x)
    for x in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]


def test_tree_heads_match_certificate_transparency_reference():
    assert merkle_root([]).hex() == hashlib.sha256(b"").hexdigest()
    assert (
        merkle_root(CT_LEAVES[:1]).hex()
        == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert (
        merkle_root(CT_LEAVES).hex()
        == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 9, 16, 17, 33])
def test_every_leaf_proves_its_inclusion(size):
    leaves = [f"envelope-{i}:3:{i:064x}".encode() for i in range(size)]
    root = merkle_root(leaves)
    for index, leaf in enumerate(leaves):
        proof = inclusion_proof(leaves, index)
        assert verify_inclusion(leaf, index, size, proof, root)


def test_a_changed_leaf_position_root_or_proof_fails():
    leaves = [bytes([i]) * 8 for i in range(11)]
    root = merkle_root(leaves)
    proof = inclusion_proof(leaves, 6)
    assert verify_inclusion(leaves[6], 6, 11, proof, root)
    assert not verify_inclusion(leaves[6] + b"x", 6, 11, proof, root)
    assert not verify_inclusion(leaves[6], 5, 11, proof, root)
    assert not verify_inclusion(leaves[6], 6, 11, proof[:-1], root)
    assert not verify_inclusion(leaves[6], 6, 11, [*proof[:-1], b"\0" * 32], root)
    assert not verify_inclusion(leaves[6], 6, 11, proof, b"\1" * 32)
    assert not verify_inclusion(leaves[6], 11, 11, proof, root)


def test_a_leaf_cannot_pass_for_an_inner_node():
    leaves = [b"a", b"b", b"c", b"d"]
    root = merkle_root(leaves)
    # The concatenation of two leaf hashes is not a leaf of the tree above them.
    from backend.evidence.merkle import leaf_hash

    forged = leaf_hash(b"a") + leaf_hash(b"b")
    assert not verify_inclusion(forged, 0, 2, [inclusion_proof(leaves, 2)[-1]], root)


def test_adding_a_leaf_changes_the_root():
    leaves = [b"one", b"two", b"three"]
    assert merkle_root(leaves) != merkle_root([*leaves, b"four"])
    assert merkle_root(leaves) != merkle_root(list(reversed(leaves)))
