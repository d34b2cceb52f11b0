//! Local, deterministic execution of ASL against mocked tasks. Pure.
