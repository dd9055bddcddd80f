"""The import page names the grade types grading takes (``GRADE_TYPES``), on the form and on a refusal."""

import portal.pages.gradebook.import_ as import_page


def test_the_import_page_lists_the_grade_types_grading_takes(portal, monkeypatch):
    # Another list than today's, so a list written into the page itself cannot pass.
    monkeypatch.setattr(import_page, "GRADE_TYPES", ("Quiz", "Lab report"))
    form = portal.get("/import")
    assert form.status == 200
    assert "is one of Quiz, Lab report;" in form.text
    refused = portal.upload(
        "/import", {"csrf_token": form.csrf(), "request_id": form.request_ids()[0]}, {"file": ("empty.csv", b"")}
    )
    assert refused.status == 400, refused.text[:300]
    assert "is one of Quiz, Lab report;" in refused.text
