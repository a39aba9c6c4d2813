"""One trivial example of each part a user adds to the lab, each a file of its own, and the tests that
register each with one line and play it end to end (test_extensions.py)."""
