# Sourced by .ci/run: starts the servers the tests need and exports their URLs.
