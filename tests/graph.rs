//! `guidebot graph`: DOT and Mermaid compared with reviewed snapshots, the
//! SVG parsed as XML and naming every node, captions from labels rather than
//! template code, one stage on its own, pictures that fit 800 pixels, the
//! committed pictures in docs/ up to date, unreachable nodes highlighted.

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
    let svg = g.to_svg();
    let at = svg.find("id=\"node-orphan\"").expect("the orphan is drawn");
    assert!(
        svg[at..].starts_with("id=\"node-orphan\"><rect") && svg[at..at + 200].contains("fill=\"mistyrose\""),
        "drawn in misty rose"
    );
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

fn shipped(file: &str) -> guidebot::domain::dialogue::Guide {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogues").join(file);
    let text = std::fs::read_to_string(&path).expect("shipped guide");
    load_guide(Path::new(file), &text).expect("loads")
}

#[test]
fn captions_come_from_labels_never_from_template_code() {
    let g = graph(&shipped("huabei-overdue.en.yaml"));
    let welcome = g.nodes.iter().find(|n| n.id == "welcome").expect("welcome");
    assert_eq!(welcome.text, "Start", "the node's label");
    for n in &g.nodes {
        assert!(!n.text.contains("{%") && !n.text.contains("{{"), "{}: {}", n.id, n.text);
    }
    for e in &g.edges {
        assert!(!e.label.contains("{%") && !e.label.contains("{{"), "{} -> {}: {}", e.from, e.to, e.label);
    }
    // Without a label: the first line of the text, its code left out.
    let savings = graph(&savings());
    let welcome = savings.nodes.iter().find(|n| n.id == "welcome").expect("welcome");
    assert_eq!(welcome.text, "Hi …! Let's make a plan.");
    assert_eq!(
        guidebot::domain::graph::plain_text("Hello{% if user.first_name %} {{ user.first_name }}{% endif %}."),
        "Hello …."
    );
    assert_eq!(guidebot::domain::graph::plain_text("{% if x %}Change{% else %}Record{% endif %}"), "Change / Record");
}

#[test]
fn a_stage_is_drawn_with_pointers_to_the_steps_it_connects_to() {
    let g = graph(&shipped("huabei-overdue.en.yaml"));
    let plan = g.stage_view("plan").expect("the plan stage");
    let inside: Vec<&str> = plan.nodes.iter().filter(|n| !n.elsewhere).map(|n| n.id.as_str()).collect();
    assert_eq!(inside.len(), g.nodes.iter().filter(|n| n.stage.as_deref() == Some("plan")).count());
    let elsewhere: Vec<&str> = plan.nodes.iter().filter(|n| n.elsewhere).map(|n| n.id.as_str()).collect();
    assert_eq!(elsewhere, ["fin_statement", "ag_intro"]);
    assert!(plan.nodes.iter().any(|n| n.text == "Statement of finances (Explain why it is overdue)"));
    assert!(g.stage_view("nope").is_none());
}

/// The width and height an SVG declares.
fn size(svg: &str) -> (f64, f64) {
    let doc = roxmltree::Document::parse(svg).expect("the SVG parses as XML");
    let root = doc.root_element();
    let num = |a: &str| root.attribute(a).and_then(|v| v.parse().ok()).expect(a);
    (num("width"), num("height"))
}

#[test]
fn every_picture_of_the_shipped_guides_fits_800_pixels_without_shrinking() {
    for file in ["huabei-overdue.en.yaml", "huabei-overdue.zh.yaml"] {
        let g = graph(&shipped(file));
        let (w, _) = size(&g.to_svg());
        assert!(w <= 800.0, "{file}: the whole guide is {w} px wide");
        for (id, _) in &g.stages {
            let (w, h) = size(&g.stage_view(id).expect("stage").to_svg());
            assert!(w <= 800.0 && h < 2500.0, "{file} {id}: {w}×{h}");
        }
    }
}

#[test]
fn the_pictures_in_docs_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for lang in ["en", "zh"] {
        let g = graph(&shipped(&format!("huabei-overdue.{lang}.yaml")));
        let mut expected = vec![(format!("docs/huabei-overdue.{lang}.svg"), g.to_svg())];
        for (id, _) in &g.stages {
            expected.push((format!("docs/huabei-overdue.{lang}.{id}.svg"), g.stage_view(id).expect("stage").to_svg()));
        }
        for (path, svg) in expected {
            let committed = std::fs::read_to_string(root.join(&path)).unwrap_or_default();
            assert!(
                committed == svg,
                "{path} is out of date: run `guidebot graph dialogues/huabei-overdue.{lang}.yaml [--stage ID] -o {path}`"
            );
        }
    }
}

#[test]
fn the_subcommand_draws_one_stage_and_names_the_stages_it_has() {
    let t = Test::new();
    let o = t.run(&["graph", "dialogues/savings.en.yaml", "--stage", "plan"], "");
    assert!(o.status.success());
    let svg = stdout(&o);
    assert!(svg.contains("id=\"node-months\"") && !svg.contains("id=\"stage-goal\""), "{svg}");
    let o = t.run(&["graph", "dialogues/savings.en.yaml", "--stage", "plna"], "");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(util::stderr(&o), "dialogues/savings.en.yaml has no stage `plna`; its stages are: goal, plan\n");
}
