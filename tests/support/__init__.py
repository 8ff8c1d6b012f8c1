"""Plain helpers for the tests (payload builders, queries, tools) and the fixture plugins that
several test folders share; see docs/development.md, "Where development code lives"."""
