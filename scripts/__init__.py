"""The project's scripts; a package so that tests can import the load generator
(scripts.loadgen) under the same name mypy checks it by."""
