# Sourced by .ci/run: makes sure a headless Chromium is installed for the page's tests.
