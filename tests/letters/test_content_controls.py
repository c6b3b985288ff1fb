"""Control characters refused by the content model (security review, finding 6): a recipient's
name with CR/LF signed fine, then its MSSanté delivery failed at every attempt."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from liaison.core.content import (
    FollowUpItem,
    LetterContent,
    MedicationLine,
    PatientIdentity,
    Presence,
    Professional,
    Recipient,
)


def refusal(build) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        build()
    err = caught.value.errors()[0]
    return ".".join(str(p) for p in err["loc"]), err["msg"]


def test_a_recipient_name_with_crlf_is_refused_with_the_field_named():
    where, message = refusal(
        lambda: LetterContent.model_validate(
            {"recipients": [{"role": "medecin_traitant", "name": "Dr Martin\r\nBcc: x@y.fr"}]}
        )
    )
    assert where == "recipients.0.name"
    assert "Champ « name » : caractère de contrôle interdit (U+000D, retour chariot)" in message


@pytest.mark.parametrize(
    "build",
    [
        lambda v: PatientIdentity(birth_family_name=v),
        lambda v: Professional(family_name=v),
        lambda v: Recipient(role="patient", mssante=v),
        lambda v: MedicationLine(medicine=v),
        lambda v: LetterContent(destination=v),
    ],
)
@pytest.mark.parametrize("char", ["\n", "\r", "\t", "\x00", "\x1b", "\x85", "\u2028"])
def test_one_line_fields_refuse_every_control_character(build, char):
    with pytest.raises(ValidationError, match="caractère de contrôle interdit"):
        build(f"AB{char}CD")


def test_free_text_keeps_its_line_breaks_but_nothing_else():
    text = "Ligne 1\r\nLigne 2\n\tretrait"
    content = LetterContent(medical_summary=text, adverse_events=Presence(present=True, details=text))
    assert content.medical_summary == text
    assert MedicationLine(medicine="X", comment=text).comment == text
    assert FollowUpItem(kind="recommandation", description=text).description == text
    where, message = refusal(lambda: LetterContent(medical_summary="Synthèse\x00"))
    assert where == "medical_summary" and "U+0000, caractère nul" in message
    with pytest.raises(ValidationError, match=r"U\+000C"):
        Presence(details="a\x0cb")


def test_content_built_then_assigned_is_checked_too():
    content = LetterContent()
    with pytest.raises(ValidationError, match="reason"):
        content.reason = "motif\x07"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=30))
def test_a_name_is_either_refused_or_free_of_control_characters(value):
    try:
        recipient = Recipient(role="medecin_traitant", name=value)
    except ValidationError as exc:
        assert "caractère de contrôle interdit" in exc.errors()[0]["msg"]
        assert any(c < " " or "\x7f" <= c <= "\x9f" or c in "\u2028\u2029" for c in value)
    else:
        assert all(c >= " " and not "\x7f" <= c <= "\x9f" and c not in "\u2028\u2029" for c in recipient.name)
