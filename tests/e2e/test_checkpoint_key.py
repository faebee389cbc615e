"""The checkpoint signing key, on both backends: made once (mode 0600) on a
ledger's first start and published; a process with another key, or none,
refuses to start with one line; `checkpoint-key rotate` publishes a new key
beside the old, and what the old one signed stays verifiable."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from factledger.checkpointing import SigningKeyError
from factledger.service import LedgerService
from factledger.settings import Settings
from tests.e2e.processes import free_port, run
from tests.writes import register

pytestmark = pytest.mark.slow


def test_the_key_is_made_once_and_a_process_with_another_key_refuses_to_start(
    service: LedgerService,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = settings.signing_key_path
    assert not path.exists()
    signer = service.checkpoint_signer()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    published = service.persistence.tree.published_keys()
    assert len(published) == 1
    assert published[0].verifier_key.startswith("factledger+")
    made = path.read_bytes()
    assert b"PRIVATE KEY" in made

    again = LedgerService(settings)
    try:
        assert again.checkpoint_signer().key.public_key() == signer.key.public_key()
    finally:
        again.close()
    assert path.read_bytes() == made

    stranger_key = Ed25519PrivateKey.generate()
    (tmp_path / "s.key").write_bytes(
        stranger_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    monkeypatch.setenv("FACTLEDGER_CHECKPOINT_KEY_FILE", str(tmp_path / "missing.key"))
    refused = run(
        "serve", "--port", str(free_port()), database_url=settings.database_url, cwd=tmp_path
    )
    assert refused.returncode != 0
    [line] = refused.stderr.strip().splitlines()[-1:]
    assert line.startswith("error: no checkpoint signing key at ")
    assert "Traceback" not in refused.stderr

    stranger = LedgerService(
        settings.model_copy(update={"checkpoint_key_file": tmp_path / "s.key"})
    )
    try:
        with pytest.raises(SigningKeyError, match="is not the ledger's published key"):
            stranger.checkpoint_signer()
    finally:
        stranger.close()
    monkeypatch.setenv("FACTLEDGER_CHECKPOINT_KEY_FILE", str(tmp_path / "s.key"))
    refused = run("project", database_url=settings.database_url, cwd=tmp_path)
    assert refused.returncode != 0
    assert (
        refused.stderr.strip().splitlines()[-1].startswith("error: the checkpoint signing key in ")
    )


def test_a_rotated_key_is_published_beside_the_old_and_old_checkpoints_still_verify(
    service: LedgerService, settings: Settings, tmp_path: Path
) -> None:
    register(service)
    service.tree_feeder.catch_up()
    service.checkpoint_signer().sign()
    old_key = service.persistence.tree.published_keys()[0].verifier_key

    rotated = run("checkpoint-key", "rotate", database_url=settings.database_url, cwd=tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    new_key = rotated.stdout.strip().splitlines()[-1]
    assert [row.verifier_key for row in service.persistence.tree.published_keys()] == [
        new_key,
        old_key,
    ]
    [old_file] = settings.signing_key_path.parent.glob("checkpoint.key.*.old")
    with_old_key = LedgerService(settings.model_copy(update={"checkpoint_key_file": old_file}))
    try:
        with pytest.raises(SigningKeyError, match="is not the ledger's published key"):
            with_old_key.checkpoint_signer()
    finally:
        with_old_key.close()
    renewed = LedgerService(settings)
    try:
        register(renewed)
        renewed.tree_feeder.catch_up()
        assert renewed.checkpoint_signer().sign().new
    finally:
        renewed.close()
    verified = run("verify", database_url=settings.database_url, cwd=tmp_path)
    assert verified.returncode == 0, verified.stderr
    assert "2 checkpoints signed by 2 published keys" in verified.stdout
