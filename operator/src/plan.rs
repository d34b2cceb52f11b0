//! Desired versus observed AWS state, turned into ordered operations. Pure.
