//! A picture of a guide's flow: stages as clusters, nodes with the first
//! words of their text, choice labels on edges, `when` conditions on branch
//! edges, end nodes marked, unreachable nodes highlighted. Pure: guide in,
//! DOT, Mermaid or SVG text out. SVG is laid out in Rust (layout-rs), so no
//! external program is needed.

use std::collections::{BTreeMap, HashSet, VecDeque};

use crate::domain::dialogue::{Guide, Node};

/// How a node is drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GNode {
    pub id: String,
    /// First words of the node's text (raw template, trimmed).
    pub text: String,
    pub stage: Option<String>,
    pub end: bool,
    pub branch: bool,
    pub reachable: bool,
}

/// An arrow, with what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GEdge {
    pub from: String,
    pub to: String,
    pub label: String,
}

/// The flow of one guide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    pub title: String,
    /// Stage id → title, in order.
    pub stages: Vec<(String, String)>,
    pub nodes: Vec<GNode>,
    pub edges: Vec<GEdge>,
}

const TEXT_WORDS: usize = 28;
const LABEL_CHARS: usize = 24;

fn shorten(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let flat = flat.replace(['*', '`'], "");
    if flat.chars().count() <= max {
        return flat;
    }
    let mut out: String = flat.chars().take(max).collect();
    out.push('…');
    out
}

fn edges_of(id: &str, n: &Node) -> Vec<GEdge> {
    let mut out = Vec::new();
    let edge = |to: &str, label: String| GEdge { from: id.to_owned(), to: to.to_owned(), label };
    for c in n.choices.iter().flatten() {
        if let Some(to) = c.goto.as_ref().or(n.goto.as_ref()) {
            let mut label = shorten(&c.label, LABEL_CHARS);
            if let Some(w) = &c.when {
                label = format!("{label} [{}]", shorten(w, LABEL_CHARS));
            }
            out.push(edge(to, label));
        }
    }
    for b in n.branch.iter().flatten() {
        let label = b.when.as_deref().map(|w| shorten(w, LABEL_CHARS)).unwrap_or_else(|| "else".into());
        out.push(edge(&b.goto, label));
    }
    if n.choices.is_none()
        && let Some(to) = &n.goto
    {
        let label = if n.checklist.is_some() {
            "done".into()
        } else if n.ask.is_some() {
            "answer".into()
        } else {
            String::new()
        };
        out.push(edge(to, label));
    }
    out
}

/// The flow of `guide`.
pub fn graph(guide: &Guide) -> Graph {
    let f = &guide.file;
    let mut edges = Vec::new();
    for (id, n) in &f.nodes {
        edges.extend(edges_of(id, n));
    }
    let mut seen: HashSet<&str> = HashSet::new();
    let mut queue = VecDeque::from([f.start.as_str()]);
    while let Some(id) = queue.pop_front() {
        if f.nodes.contains_key(id) && seen.insert(id) {
            queue.extend(edges.iter().filter(|e| e.from == id).map(|e| e.to.as_str()));
        }
    }
    let nodes = f
        .nodes
        .iter()
        .map(|(id, n)| GNode {
            id: id.clone(),
            text: shorten(n.say.as_deref().unwrap_or(""), TEXT_WORDS),
            stage: n.stage.clone(),
            end: n.end,
            branch: n.branch.is_some(),
            reachable: seen.contains(id.as_str()),
        })
        .collect();
    Graph {
        title: f.title.clone(),
        stages: f.stages.iter().map(|s| (s.id.clone(), s.title.clone())).collect(),
        nodes,
        edges,
    }
}

fn dot_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"))
}

impl Graph {
    fn by_stage(&self) -> (BTreeMap<usize, Vec<&GNode>>, Vec<&GNode>) {
        let mut grouped: BTreeMap<usize, Vec<&GNode>> = BTreeMap::new();
        let mut loose = Vec::new();
        for n in &self.nodes {
            match n.stage.as_ref().and_then(|s| self.stages.iter().position(|(id, _)| id == s)) {
                Some(i) => grouped.entry(i).or_default().push(n),
                None => loose.push(n),
            }
        }
        (grouped, loose)
    }

    /// Graphviz DOT.
    pub fn to_dot(&self) -> String {
        let mut out = format!("digraph {} {{\n", dot_str(&self.title));
        out.push_str("  rankdir=TB;\n  node [shape=box, style=rounded, fontsize=11];\n  edge [fontsize=10];\n");
        let node_line = |n: &GNode| {
            let mut attrs = vec![format!("label={}", dot_str(&format!("{}\n{}", n.id, n.text)))];
            if n.end {
                attrs.push("peripheries=2".into());
            }
            if n.branch {
                attrs.push("shape=diamond".into());
            }
            if !n.reachable {
                attrs.push("color=red, fontcolor=red, style=\"rounded,dashed\"".into());
            }
            format!("{} [{}];", dot_str(&n.id), attrs.join(", "))
        };
        let (grouped, loose) = self.by_stage();
        for (i, nodes) in &grouped {
            let (id, title) = &self.stages[*i];
            out.push_str(&format!(
                "  subgraph {} {{\n    label={};\n",
                dot_str(&format!("cluster_{id}")),
                dot_str(title)
            ));
            for n in nodes {
                out.push_str(&format!("    {}\n", node_line(n)));
            }
            out.push_str("  }\n");
        }
        for n in loose {
            out.push_str(&format!("  {}\n", node_line(n)));
        }
        for e in &self.edges {
            if e.label.is_empty() {
                out.push_str(&format!("  {} -> {};\n", dot_str(&e.from), dot_str(&e.to)));
            } else {
                out.push_str(&format!("  {} -> {} [label={}];\n", dot_str(&e.from), dot_str(&e.to), dot_str(&e.label)));
            }
        }
        out.push_str("}\n");
        out
    }

    /// Mermaid flowchart.
    pub fn to_mermaid(&self) -> String {
        let esc = |s: &str| s.replace('"', "#quot;").replace('<', "#lt;").replace('>', "#gt;").replace('|', "#124;");
        let node_line = |n: &GNode| {
            let text = format!("{}<br/>{}", n.id, esc(&n.text));
            if n.branch {
                format!("{}{{\"{text}\"}}", n.id)
            } else if n.end {
                format!("{}([\"{text}\"])", n.id)
            } else {
                format!("{}[\"{text}\"]", n.id)
            }
        };
        let mut out = String::from("flowchart TD\n");
        let (grouped, loose) = self.by_stage();
        for (i, nodes) in &grouped {
            let (id, title) = &self.stages[*i];
            out.push_str(&format!("  subgraph stage_{id}[\"{}\"]\n", esc(title)));
            for n in nodes {
                out.push_str(&format!("    {}\n", node_line(n)));
            }
            out.push_str("  end\n");
        }
        for n in loose {
            out.push_str(&format!("  {}\n", node_line(n)));
        }
        for e in &self.edges {
            if e.label.is_empty() {
                out.push_str(&format!("  {} --> {}\n", e.from, e.to));
            } else {
                out.push_str(&format!("  {} -->|\"{}\"| {}\n", e.from, esc(&e.label), e.to));
            }
        }
        let unreachable: Vec<&str> = self.nodes.iter().filter(|n| !n.reachable).map(|n| n.id.as_str()).collect();
        let ends: Vec<&str> = self.nodes.iter().filter(|n| n.end).map(|n| n.id.as_str()).collect();
        out.push_str(
            "  classDef unreachable stroke:#c00,color:#c00,stroke-dasharray:4\n  classDef finish stroke-width:3px\n",
        );
        if !ends.is_empty() {
            out.push_str(&format!("  class {} finish\n", ends.join(",")));
        }
        if !unreachable.is_empty() {
            out.push_str(&format!("  class {} unreachable\n", unreachable.join(",")));
        }
        out
    }

    /// SVG, laid out without external programs. Stages are drawn as shaded bands behind their nodes.
    pub fn to_svg(&self) -> String {
        use layout::backends::svg::SVGWriter;
        use layout::core::base::Orientation;
        use layout::core::color::Color;
        use layout::core::style::StyleAttr;
        use layout::std_shapes::render::get_shape_size;
        use layout::std_shapes::shapes::{Arrow, Element, ShapeKind};
        use layout::topo::layout::VisualGraph;

        let dir = Orientation::TopToBottom;
        let mut vg = VisualGraph::new(dir);
        let mut handles = BTreeMap::new();
        for n in &self.nodes {
            let text = format!("{}\n{}", n.id, n.text);
            let shape = ShapeKind::new_box(&text);
            let (line, fill) = match (n.reachable, n.branch, n.end) {
                (false, _, _) => ("red", "mistyrose"),
                (true, _, true) => ("darkgreen", "honeydew"),
                (true, true, false) => ("black", "lightyellow"),
                (true, false, false) => ("black", "white"),
            };
            let width = if n.end { 3 } else { 1 };
            let look = StyleAttr::new(Color::fast(line), width, Some(Color::fast(fill)), 8, 12);
            let size = get_shape_size(dir.flip(), &shape, 12, false);
            handles.insert(n.id.clone(), vg.add_node(Element::create(shape, look, dir.flip(), size)));
        }
        for e in &self.edges {
            if let (Some(a), Some(b)) = (handles.get(&e.from), handles.get(&e.to)) {
                vg.add_edge(Arrow::simple(&e.label), *a, *b);
            }
        }
        let mut svg = SVGWriter::new();
        if !self.nodes.is_empty() {
            vg.do_it(false, false, false, &mut svg);
        }
        let body = svg.finalize();
        // Stage bands go right after the opening <svg …> tag, so that nodes draw over them.
        let mut bands = String::new();
        let palette = ["#eef5ff", "#effaef", "#fff6e8", "#f6efff", "#eefafa", "#fbeff3"];
        for (i, (id, title)) in self.stages.iter().enumerate() {
            let boxes: Vec<(f64, f64, f64, f64)> = self
                .nodes
                .iter()
                .filter(|n| n.stage.as_deref() == Some(id))
                .filter_map(|n| handles.get(&n.id))
                .map(|h| {
                    let (a, b) = vg.pos(*h).bbox(false);
                    (a.x, a.y, b.x, b.y)
                })
                .collect();
            if boxes.is_empty() {
                continue;
            }
            let x0 = boxes.iter().map(|b| b.0).fold(f64::MAX, f64::min) - 12.0;
            let y0 = boxes.iter().map(|b| b.1).fold(f64::MAX, f64::min) - 22.0;
            let x1 = boxes.iter().map(|b| b.2).fold(f64::MIN, f64::max) + 12.0;
            let y1 = boxes.iter().map(|b| b.3).fold(f64::MIN, f64::max) + 8.0;
            bands.push_str(&format!(
                "<g class=\"stage\" id=\"stage-{}\"><rect x=\"{x0:.1}\" y=\"{y0:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"10\" fill=\"{}\" stroke=\"#99a\" stroke-dasharray=\"4\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" font-family=\"sans-serif\" fill=\"#445\">{}</text></g>\n",
                xml_escape(id),
                x1 - x0,
                y1 - y0,
                palette[i % palette.len()],
                x0 + 8.0,
                y0 + 15.0,
                xml_escape(title)
            ));
        }
        match body.find("<svg").and_then(|i| body[i..].find('>').map(|j| i + j + 1)) {
            Some(at) => format!("{}\n{bands}{}", &body[..at], &body[at..]),
            None => body,
        }
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
