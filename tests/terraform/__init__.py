"""The terraform/ tests, a package so that its conftest.py does not shadow tests/conftest.py
(two non-package conftest.py files are both imported as the module `conftest`)."""
