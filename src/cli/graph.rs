//! `guidebot graph FILE [--format svg|mermaid|dot] [-o OUT]`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::report;
use crate::domain::dialogue::load_guide;
use crate::domain::graph::graph;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Svg,
    Mermaid,
    Dot,
}

#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    /// The dialogue file to draw.
    pub file: PathBuf,
    /// Output format (default: from the -o extension, else svg).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write here instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

pub fn run(a: &GraphArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    let guide = match load_guide(&a.file, &text) {
        Ok(g) => g,
        Err(d) => {
            eprintln!("{}", report(&d));
            return Ok(ExitCode::from(1));
        }
    };
    let format =
        a.format.unwrap_or_else(|| match a.output.as_ref().and_then(|o| o.extension()).and_then(|e| e.to_str()) {
            Some("dot" | "gv") => Format::Dot,
            Some("mmd" | "mermaid") => Format::Mermaid,
            _ => Format::Svg,
        });
    let g = graph(&guide);
    let out = match format {
        Format::Svg => g.to_svg(),
        Format::Mermaid => g.to_mermaid(),
        Format::Dot => g.to_dot(),
    };
    match &a.output {
        Some(path) => std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))?,
        None => print!("{out}"),
    }
    Ok(ExitCode::SUCCESS)
}
