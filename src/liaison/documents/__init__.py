"""Documents of a letter, pure Python (no Django).

- `cda`: LDL-SES 2022.01 CDA builder (`build_cda`, `DocumentMeta`, `CdaBuildError`): `header`, one
  module per section in `cda/sections/` registered in document order;
- `validation`: XSD + ANS schematrons + terminology + Liaison checks (`LdlSesValidator`, `Finding`);
- `pdf`: PDF/A-3b letter with the CDA attached (`render_pdf`, `extract_cda`, `render_cda_pdf`);
- `reader`: CDA → `LetterContent` (`read_cda`).
"""
