"""Identity: the SMS intent code, and real-name verification before signing.

- ``services``: the 6-digit SMS code that confirms intent at signing time.
- ``checks``: ID number (GB 11643), name, mobile and bank-card checks before any paid call.
- ``providers`` / ``aliyun``: the identity-provider protocol, the sandbox, Aliyun Cloudauth.
- ``verification``: step 1 (identity details), phone 3-factor, bank-card 4-factor, reuse,
  rate limits, audit events.
- ``review``: manual review (uploads, the organisation's queue, the outcome by SMS).
- ``controllers``: the signer's pages under ``/s/{token}/identity``, the reviewers' queue
  under ``/app/reviews`` and the review API.

See README.md in this folder for the flow, the settings and the sandbox's test identities.
"""
