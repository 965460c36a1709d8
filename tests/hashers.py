"""The password hasher of the tests: Django's PBKDF2 at one iteration.

Django's default PBKDF2 (1,000,000 iterations) costs about 0.35 s of CPU for every staff member a
test creates and every password sign-in. The tests are about who may sign in, not about the
hasher's cost, so they store and check passwords with the same algorithm at one iteration. The
hashes keep PBKDF2's format (`pbkdf2_sha256$1$…`), so a server started in a subprocess with the
production settings still verifies them (and upgrades them to its iteration count, as Django does
for any older hash).
"""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class OneIterationPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1
