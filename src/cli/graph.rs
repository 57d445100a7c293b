//! `guidebot graph FILE [--stage ID] [--format svg|mermaid|dot] [-o OUT]`.

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
    /// Draw only this stage, with pointers to the steps of other stages it connects to.
    #[arg(long, value_name = "ID")]
    pub stage: Option<String>,
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
    let mut g = graph(&guide);
    if let Some(stage) = &a.stage {
        let Some(view) = g.stage_view(stage) else {
            let ids: Vec<&str> = g.stages.iter().map(|(id, _)| id.as_str()).collect();
            eprintln!("{} has no stage `{stage}`; its stages are: {}", a.file.display(), ids.join(", "));
            return Ok(ExitCode::from(2));
        };
        g = view;
    }
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
