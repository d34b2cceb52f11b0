//! Least-privilege IAM for a state machine role, derived from the compiled ASL. Pure.
