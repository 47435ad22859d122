"""Route paths of the evidence domain, named once."""

API_EVIDENCE = "/api/v1/envelopes/{envelope_id:uuid}/evidence"
API_EVIDENCE_ZIP = "/api/v1/envelopes/{envelope_id:uuid}/evidence.zip"
