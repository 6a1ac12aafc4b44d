from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from fleetdeck.core.errors import SecretError
from fleetdeck.core.inventory import SecretRef, mask_secret


def test_env_secret_strips_trailing_newline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FD_SECRET_A", "value-with-newline\n")
    assert SecretRef(env="FD_SECRET_A").resolve("x.api_key") == "value-with-newline"


def test_missing_env_secret_names_key_variable_and_next_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FD_SECRET_MISSING", raising=False)
    with pytest.raises(SecretError) as caught:
        SecretRef(env="FD_SECRET_MISSING").resolve("deployments[0].api_key")
    error = caught.value
    assert "deployments[0].api_key" in error.title
    assert "FD_SECRET_MISSING is not set" in error.cause
    assert error.next_step.startswith("export FD_SECRET_MISSING=")
    assert "next: export" in str(error)


def test_file_secret_and_its_failures(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("hf_abc\r\n")
    assert SecretRef(file=token).resolve("k") == "hf_abc"
    token.write_text("\n")
    with pytest.raises(SecretError, match="is empty"):
        SecretRef(file=token).resolve("k")
    with pytest.raises(SecretError) as caught:
        SecretRef(file=tmp_path / "absent").resolve("deployments[1].hf_token")
    assert "No such file" in caught.value.cause
    assert "deployments[1].hf_token.file" in caught.value.next_step


def test_relative_secret_file_is_relative_to_the_inventory(tmp_path: Path) -> None:
    ref = SecretRef.model_validate({"file": "s/key"}, context={"base_dir": tmp_path})
    assert ref.file == tmp_path / "s" / "key"
    assert SecretRef.model_validate({"file": "~/k"}).file == Path(os.path.expanduser("~/k"))


@pytest.mark.parametrize(
    "data", ["sk-plain", {}, {"env": "A", "file": "b"}, {"env": "1BAD"}, {"value": "x"}]
)
def test_invalid_references(data: object) -> None:
    with pytest.raises(ValidationError):
        SecretRef.model_validate(data)


def test_describe_and_repr_never_show_a_value() -> None:
    ref = SecretRef(env="LLAMA_KEY")
    assert ref.describe() == "env:LLAMA_KEY"
    assert repr(ref) == "SecretRef(env:LLAMA_KEY)"
    assert SecretRef(file=Path("/k")).describe() == "file:/k"


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("sk-0123456789abcdef0123456789f3a9", "sk-…f3a9"),  # long: prefix and last 4
        ("sk-0123456789abcdef3a9", "…f3a9"),  # 22 chars: 7 shown would be a third of it
        ("sk-01234f3a9", "****"),
        ("short", "****"),
    ],
)
def test_mask_secret(value: str, masked: str) -> None:
    assert mask_secret(value) == masked
