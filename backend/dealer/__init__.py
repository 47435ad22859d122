"""The dealer's phone pages (/app): log in by SMS code, create, share and follow envelopes."""
