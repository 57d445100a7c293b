//! `guidebot graph`: DOT and Mermaid compared with reviewed snapshots, the
//! SVG parsed as XML and naming every node, unreachable nodes highlighted.

mod util;

use std::path::Path;

use guidebot::domain::dialogue::load_guide;
use guidebot::domain::graph::graph;
use util::{Test, fixture, stdout};

fn savings() -> guidebot::domain::dialogue::Guide {
    let path = fixture("dialogues/savings.en.yaml");
    let text = std::fs::read_to_string(&path).expect("fixture");
    load_guide(Path::new("savings.en.yaml"), &text).expect("loads")
}

/// Compares with a snapshot; `UPDATE_SNAPSHOTS=1 cargo test` rewrites it for review in the diff.
fn snapshot(name: &str, got: &str) {
    let path = fixture(&format!("graph/{name}"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, got).expect("write snapshot");
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(want == got, "{} differs from the output:\n{got}", path.display());
}

#[test]
fn dot_matches_the_snapshot() {
    snapshot("savings.dot", &graph(&savings()).to_dot());
}

#[test]
fn mermaid_matches_the_snapshot() {
    snapshot("savings.mmd", &graph(&savings()).to_mermaid());
}

#[test]
fn svg_is_xml_and_names_every_node_and_stage() {
    let g = graph(&savings());
    let svg = g.to_svg();
    let doc = roxmltree::Document::parse(&svg).expect("the SVG parses as XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts: String = doc.descendants().filter_map(|n| n.text()).collect::<Vec<_>>().join("\n");
    for n in &g.nodes {
        assert!(texts.contains(&n.id), "node {} is not named in the SVG", n.id);
    }
    for (_, title) in &g.stages {
        assert!(texts.contains(title.as_str()), "stage {title} is not drawn");
    }
}

#[test]
fn unreachable_nodes_are_highlighted() {
    let text = std::fs::read_to_string(fixture("dialogues/savings.en.yaml")).expect("fixture")
        + "  orphan:\n    say: Nobody links here.\n    end: true\n";
    let g = graph(&load_guide(Path::new("savings.en.yaml"), &text).expect("loads"));
    let orphan = g.nodes.iter().find(|n| n.id == "orphan").expect("orphan");
    assert!(!orphan.reachable);
    assert!(g.to_dot().contains("\"orphan\" [label=\"orphan\\nNobody links here.\", peripheries=2, color=red"));
    assert!(g.to_mermaid().contains("class orphan unreachable"));
    assert!(g.to_svg().contains("fill=\"#ffe4e1ff\""), "drawn in misty rose");
}

#[test]
fn the_subcommand_writes_each_format() {
    let t = Test::new();
    for (format, marker) in [("dot", "digraph"), ("mermaid", "flowchart TD"), ("svg", "<svg")] {
        let o = t.run(&["graph", "dialogues/savings.en.yaml", "--format", format], "");
        assert!(o.status.success());
        assert!(stdout(&o).contains(marker), "{format}");
    }
    let o = t.run(&["graph", "dialogues/savings.en.yaml", "-o", "flow.mmd"], "");
    assert!(o.status.success());
    assert!(std::fs::read_to_string(t.path("flow.mmd")).expect("written").starts_with("flowchart TD"));
}
