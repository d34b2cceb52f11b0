//! Command-line front ends. Each subcommand owns one file holding its clap `Args` and a `run` function;
//! `main.rs` only dispatches, so the commands stay independent of each other.

pub mod apply;
pub mod crds;
pub mod plan;
pub mod run;
pub mod simulate;
pub mod test;
pub mod validate;
