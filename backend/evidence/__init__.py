"""Evidence: the append-only, hash-chained audit trail of each envelope, its TSA seal and
daily Merkle anchors, the signed evidence report (签约存证报告) and the offline bundle.

Pure modules (no database): ``chain``, ``merkle``, ``timestamps``, ``bundle``, ``report``,
``masking``, ``kinds``, ``connectors``. ``services`` and ``controllers`` use the database.
``python -m backend.evidence`` verifies (see ``cli``).
"""
