//! Desired CloudWatch alarms of a StateMachine. Pure.
