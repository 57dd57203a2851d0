"""Reply content rules: forms, fee, identity documents, deputies, subjects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config import load_config
from bot.resources import load_reply_kit
from responders.compose import compose, reply_subject
from responders.models import Classification, Inquiry

CFG = load_config(env={})
KIT = load_reply_kit(CFG)
DUE = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def make_cls(
    types, *, language="en", deputy=False, categories=("disclosure_request",), confidence=0.9
):
    return Classification(
        category=categories[0],
        categories=tuple(categories),
        request_types=tuple(types),
        deputy=deputy,
        language=language,
        confidence=confidence,
        needs_human=confidence < 0.4,
    )


def make_inquiry(text="Please act on my data."):
    return Inquiry(
        channel="email",
        message_id="<1@x>",
        sender="a@example.jp",
        sender_name="",
        subject="Request",
        body=text,
        text=text,
    )


def render(cls, inquiry=None):
    return compose(
        inquiry or make_inquiry(),
        cls,
        KIT,
        ticket_number="INQ-2026-000007",
        due=DUE,
        organization=CFG.localized_organization(cls.language),
    )


def reply_for(types, **kw):
    body = render(make_cls(types, **kw)).body
    return flat(body) if kw.get("language", "en") == "en" else body


def flat(text: str) -> str:
    """English replies are wrapped at 76 columns; compare phrases across line breaks."""
    return " ".join(text.split())


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("fee_type", ["disclosure", "purpose_notification", "third_party_records"])
def test_fee_for_disclosure_and_notification(language, fee_type):
    body = reply_for([fee_type], language=language)
    assert "2,500" in body


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("free_type", ["revision", "usage_withholding", "third_party_halt"])
def test_no_fee_for_revision_or_withholding(language, free_type):
    body = reply_for([free_type], language=language)
    assert "2,500" not in body
    assert ("no fee" in body) if language == "en" else ("手数料はかかりません" in body)
    # No refusal grounds for requests that are not disclosure.
    assert ("hinder the prevention" not in body) and ("犯罪の予防" not in body)


def test_mixed_request_says_which_part_costs():
    body = reply_for(["disclosure", "revision"])
    assert "JPY 2,500 applies to disclosure" in body
    assert "no fee for correction" in body
    assert "Request for the Notification of Personal Information Usage" in body
    assert "Request for Personal Information Revisal" in body


def test_forms_per_request_type():
    assert "Request for Personal Information Usage Withholding" in reply_for(
        ["usage_withholding", "third_party_halt"]
    )
    assert "Commission of Powers" not in reply_for(["disclosure"])


@pytest.mark.parametrize("language", ["en", "ja"])
def test_identity_documents_and_domicile(language):
    body = reply_for(["disclosure"], language=language)
    if language == "en":
        assert "photo" in body and "two different official documents" in body
        assert "legal domicile" in body
    else:
        assert "顔写真付き" in body and "2点" in body and "本籍" in body


@pytest.mark.parametrize("language", ["en", "ja"])
def test_deputy_gets_commission_of_powers_and_proof_of_authority(language):
    body = reply_for(["disclosure"], language=language, deputy=True)
    if language == "en":
        assert '"Commission of Powers"' in body
        assert "your own identity documents" in body
        assert "certificate of registered matters" in body
        assert "certificate of seal impression" in body
    else:
        assert "「委任状」" in body and "登記事項証明書" in body and "印鑑登録証明書" in body


def test_refusal_grounds_for_disclosure():
    body = reply_for(["disclosure"])
    for ground in ("A. endanger", "B. encourage", "C. harm national", "D. hinder"):
        assert ground in body


def test_complaint_with_a_request_covers_both():
    body = reply_for(["usage_withholding"], categories=("complaint", "disclosure_request"))
    assert "investigate" in body
    assert "Request for Personal Information Usage Withholding" in body


def test_low_confidence_gets_the_neutral_acknowledgement():
    reply = render(make_cls(["disclosure"], confidence=0.2))
    assert reply.kind == "acknowledgement"
    assert "Complaints" in reply.body and "General questions" in reply.body
    assert "Forms to return" not in reply.body


def test_every_line_of_an_english_reply_fits_a_mail_client():
    body = render(make_cls(["disclosure", "revision"], deputy=True)).body
    assert max(len(line) for line in body.splitlines()) <= 76


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("Copy of my data", "Re: Copy of my data [INQ-2026-000001]"),
        ("Re: RE: Copy [INQ-2026-000001]", "Re: Copy [INQ-2026-000001]"),
        ("Hi\r\nBcc: x@example.com", "Re: Hi Bcc: x@example.com [INQ-2026-000001]"),
        ("", "Re: Your inquiry [INQ-2026-000001]"),
        ("x" * 400, "Re: " + "x" * 149 + "… [INQ-2026-000001]"),
    ],
)
def test_reply_subject(original, expected):
    assert reply_subject(original, "INQ-2026-000001", "Your inquiry") == expected
