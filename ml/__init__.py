"""Machine-learning checks for signing: face (detection, liveness, match) and handwriting.

No web or ORM imports: these run in the web process, a worker, or another service.
"""
