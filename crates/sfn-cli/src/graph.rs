//! `graph`: draw a state machine as a Mermaid flowchart (the default, which GitHub renders inline), a
//! Graphviz digraph, or an SVG picture.
//!
//! The state machine is loaded exactly as `simulate` loads it (a raw `.asl.json` file, or a manifest compiled
//! as `plan` compiles it). The SVG is laid out in process by `layout-rs`, so no Graphviz install is needed;
//! that layout engine knows no clusters, so in the SVG the states of Parallel branches and Map processors
//! are drawn in the one graph, reached by the dotted edges from their Parallel or Map state.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use layout::backends::svg::SVGWriter;
use layout::gv::{DotParser, GraphBuilder};
use sfn_asl::model::Definition;

use crate::simulate::load_state_machine;

/// Output format of `graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// A Mermaid flowchart (paste it in a ```mermaid block).
    #[default]
    Mermaid,
    /// A Graphviz digraph (for `dot -Tpng`).
    Dot,
    /// An SVG picture, laid out without Graphviz.
    Svg,
}

/// Draw a state machine: its states, transitions, Choice rules, Catch and Retry.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A manifest (YAML/JSON) holding the StateMachine, or a raw `.asl.json` definition.
    #[arg(short = 'f', long = "filename")]
    pub file: PathBuf,
    /// Which StateMachine of the manifest (`name` or `namespace/name`); optional when there is only one.
    #[arg(long)]
    pub state_machine: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Mermaid)]
    pub output: Format,
}

/// Runs `graph`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let loaded = load_state_machine(&args.file, args.state_machine.as_deref())?;
    let definition = Definition::from_json(&loaded.asl).map_err(|diags| {
        let lines: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
        anyhow::anyhow!(
            "{} is not a valid state machine:\n{}",
            args.file.display(),
            lines.join("\n")
        )
    })?;
    let text = render(&definition, args.output)?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .context("writing to stdout")?;
    Ok(ExitCode::SUCCESS)
}

/// The drawing of `definition` in `format`.
pub fn render(definition: &Definition, format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Mermaid => sfn_asl::graph::mermaid(definition),
        Format::Dot => sfn_asl::graph::dot(definition),
        Format::Svg => svg(definition)?,
    })
}

/// The SVG picture: the DOT text laid out by `layout-rs`. Going through DOT keeps one description of the
/// drawing (shapes, labels and edge styles) for both formats.
pub fn svg(definition: &Definition) -> anyhow::Result<String> {
    let dot = sfn_asl::graph::dot(definition);
    let mut parser = DotParser::new(&dot);
    let ast = parser
        .process()
        .map_err(|e| anyhow::anyhow!("laying out the graph: {e}"))?;
    let mut builder = GraphBuilder::new();
    builder.visit_graph(&ast);
    let mut graph = builder.get();
    let mut writer = SVGWriter::new();
    graph.do_it(false, false, false, &mut writer);
    let mut out = writer.finalize();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}
