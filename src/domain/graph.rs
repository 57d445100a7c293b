//! A picture of a guide's flow: stages as clusters, each node captioned with
//! its `label` (or the first words of its text, template code left out),
//! choice labels on edges, `when` conditions on branch edges, end nodes
//! marked, unreachable nodes highlighted, and one stage on its own with the
//! steps of other stages it connects to ([`Graph::stage_view`]). Pure: guide
//! in, DOT, Mermaid or SVG text out. The SVG is drawn here as a list of boxes
//! with arrows on the side (no layout program needed), so that it reads at
//! 800 pixels wide however large the guide grows.

use std::collections::{BTreeMap, HashSet, VecDeque};

use crate::domain::dialogue::{Guide, Node};

/// How a node is drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GNode {
    pub id: String,
    /// The node's `label`, else the first words of its text without template code.
    pub text: String,
    pub stage: Option<String>,
    pub end: bool,
    pub branch: bool,
    pub reachable: bool,
    /// Drawn as a pointer to another part of the picture (a node of another stage in a
    /// stage view), not as a step of its own.
    pub elsewhere: bool,
}

/// An arrow, with what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GEdge {
    pub from: String,
    pub to: String,
    pub label: String,
    /// One of several ways out that the user or a condition picks (a choice, a branch
    /// entry), as opposed to the node's one way on.
    pub choice: bool,
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

/// Longest caption and edge label, in characters (the SVG also cuts them to fit its boxes).
const TEXT_WORDS: usize = 60;
const LABEL_CHARS: usize = 48;

/// A template's text with its code left out: `{% … %}` and `{# … #}` removed (`else`
/// and `elif` shown as ` / ` between the alternatives), each `{{ … }}` shown as `…`;
/// fenced code lines dropped.
pub fn plain_text(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let close = match tail.get(..2) {
            Some("{%") => Some("%}"),
            Some("{#") => Some("#}"),
            Some("{{") => Some("}}"),
            _ => None,
        };
        let Some(close) = close else {
            out.push('{');
            rest = &tail[1..];
            continue;
        };
        let end = tail.find(close).map_or(tail.len(), |j| j + 2);
        let tag =
            tail[2..end.saturating_sub(2).max(2)].trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace());
        if close == "}}" {
            out.push('…');
        } else if close == "%}" && (tag == "else" || tag.starts_with("elif ")) {
            // `{% if %}A{% else %}B{% endif %}`: show both, as alternatives.
            out.push_str(" / ");
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out.lines().filter(|l| !l.trim_start().starts_with("```")).collect::<Vec<_>>().join("\n")
}

/// The caption of a node: its `label`, else the first line of its text that has words.
fn caption(n: &Node) -> String {
    if let Some(label) = &n.label {
        return shorten(&plain_text(label), TEXT_WORDS);
    }
    let text = plain_text(n.say.as_deref().unwrap_or(""));
    let line = text.lines().map(str::trim).find(|l| l.chars().any(char::is_alphanumeric)).unwrap_or("");
    if line.is_empty() && n.branch.is_some() {
        return "(branch)".into();
    }
    shorten(line, TEXT_WORDS)
}

fn shorten(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let flat = flat.replace(['*', '`'], "").replace("… …", "…");
    if flat.chars().count() <= max {
        return flat;
    }
    let mut out: String = flat.chars().take(max).collect();
    out.push('…');
    out
}

fn edges_of(id: &str, n: &Node) -> Vec<GEdge> {
    let mut out = Vec::new();
    let edge = |to: &str, label: String, choice: bool| GEdge { from: id.to_owned(), to: to.to_owned(), label, choice };
    for c in n.choices.iter().flatten() {
        if let Some(to) = c.goto.as_ref().or(n.goto.as_ref()) {
            let mut label = shorten(&plain_text(&c.label), LABEL_CHARS);
            if let Some(w) = &c.when {
                label = format!("{label} [{}]", shorten(w, LABEL_CHARS));
            }
            out.push(edge(to, label, true));
        }
    }
    for b in n.branch.iter().flatten() {
        let label = b.when.as_deref().map(|w| shorten(w, LABEL_CHARS)).unwrap_or_else(|| "else".into());
        out.push(edge(&b.goto, label, true));
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
        out.push(edge(to, label, false));
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
            text: caption(n),
            stage: n.stage.clone(),
            end: n.end,
            branch: n.branch.is_some(),
            reachable: seen.contains(id.as_str()),
            elsewhere: false,
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
    /// One stage: its steps, and — drawn as pointers — the steps of other stages that
    /// lead into it or that it leads to. `None` when the guide has no such stage.
    pub fn stage_view(&self, stage: &str) -> Option<Graph> {
        let (_, title) = self.stages.iter().find(|(id, _)| id == stage)?;
        let inside = |id: &str| self.nodes.iter().any(|n| n.id == id && n.stage.as_deref() == Some(stage));
        let edges: Vec<GEdge> = self.edges.iter().filter(|e| inside(&e.from) || inside(&e.to)).cloned().collect();
        let nodes = self
            .nodes
            .iter()
            .filter(|n| inside(&n.id) || edges.iter().any(|e| e.from == n.id || e.to == n.id))
            .map(|n| {
                let mut n = n.clone();
                if !inside(&n.id) {
                    n.elsewhere = true;
                    let there = n.stage.as_ref().and_then(|s| self.stages.iter().find(|(id, _)| id == s));
                    if let Some((_, t)) = there {
                        n.text = format!("{} ({t})", n.text);
                    }
                }
                n
            })
            .collect();
        Some(Graph {
            title: format!("{}: {title}", self.title),
            stages: vec![(stage.to_owned(), title.clone())],
            nodes,
            edges,
        })
    }

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

    /// SVG, drawn as a list that reads at 800 pixels wide however large the guide is:
    /// one box per node, top to bottom in file order, each listing its ways out (choice
    /// labels, branch conditions); an arrow goes straight down to the next box, or around
    /// on the right to any other. Stages are shaded bands behind their nodes.
    pub fn to_svg(&self) -> String {
        Sheet::draw(self)
    }
}

/// Sizes of the SVG drawing, in pixels.
const MARGIN: f64 = 16.0;
const BOX_X: f64 = 28.0;
const BOX_W: f64 = 470.0;
const TITLE_H: f64 = 24.0;
const ROW_H: f64 = 19.0;
const GAP: f64 = 26.0;
const BAND_TITLE: f64 = 26.0;
const LANE_W: f64 = 11.0;
const FONT: f64 = 13.0;

/// Estimated width of `s` at `size` px in a sans-serif font (CJK characters are square).
fn text_px(s: &str, size: f64) -> f64 {
    s.chars().map(|c| if (c as u32) >= 0x1100 { size } else { size * 0.56 }).sum()
}

/// `s` cut with `…` to fit `px` pixels.
fn fit(s: &str, px: f64, size: f64) -> String {
    if text_px(s, size) <= px {
        return s.to_owned();
    }
    let mut out = String::new();
    for c in s.chars() {
        if text_px(&out, size) + text_px(&c.to_string(), size) + size > px {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// One node's box in the list.
struct Placed<'g> {
    node: &'g GNode,
    /// The stage band it is drawn in.
    band: Option<usize>,
    top: f64,
    height: f64,
    /// Labelled ways out, each on its own row: (edge index, label).
    rows: Vec<(usize, String)>,
}

/// The list drawing: places boxes, routes arrows, writes SVG.
struct Sheet<'g> {
    g: &'g Graph,
    placed: Vec<Placed<'g>>,
    /// Stage bands: (stage index, top, bottom).
    bands: Vec<(usize, f64, f64)>,
}

impl<'g> Sheet<'g> {
    fn draw(g: &'g Graph) -> String {
        let mut sheet = Sheet { g, placed: Vec::new(), bands: Vec::new() };
        sheet.place();
        sheet.svg()
    }

    /// Boxes top to bottom: pointers that lead in first, then each stage's nodes in
    /// file order (a band each), nodes without a stage, and pointers led to last.
    fn place(&mut self) {
        let g = self.g;
        let leads_in = |n: &GNode| n.elsewhere && g.edges.iter().any(|e| e.from == n.id);
        let mut order: Vec<(&GNode, Option<usize>)> =
            g.nodes.iter().filter(|n| leads_in(n)).map(|n| (n, None)).collect();
        for (i, (id, _)) in g.stages.iter().enumerate() {
            order.extend(
                g.nodes.iter().filter(|n| !n.elsewhere && n.stage.as_deref() == Some(id)).map(|n| (n, Some(i))),
            );
        }
        let staged = |n: &GNode| n.stage.as_ref().is_some_and(|s| g.stages.iter().any(|(id, _)| id == s));
        order.extend(g.nodes.iter().filter(|n| !n.elsewhere && !staged(n)).map(|n| (n, None)));
        order.extend(g.nodes.iter().filter(|n| n.elsewhere && !leads_in(n)).map(|n| (n, None)));

        let mut y = MARGIN;
        let mut band: Option<(usize, f64)> = None;
        for (node, stage) in order {
            if band.map(|(i, _)| Some(i)) != Some(stage) {
                if let Some((i, top)) = band.take() {
                    self.bands.push((i, top, y - GAP + 8.0));
                    y += 10.0;
                }
                if let Some(i) = stage {
                    band = Some((i, y));
                    y += BAND_TITLE;
                }
            }
            let rows: Vec<(usize, String)> = g
                .edges
                .iter()
                .enumerate()
                .filter(|(_, e)| e.from == node.id && !node.elsewhere && e.choice)
                .map(|(i, e)| (i, e.label.clone()))
                .collect();
            let height = TITLE_H + rows.len() as f64 * ROW_H + if rows.is_empty() { 0.0 } else { 4.0 };
            self.placed.push(Placed { node, band: stage, top: y, height, rows });
            y += height + GAP;
        }
        if let Some((i, top)) = band {
            self.bands.push((i, top, y - GAP + 8.0));
        }
    }

    fn index_of(&self, id: &str) -> Option<usize> {
        self.placed.iter().position(|p| p.node.id == id)
    }

    fn svg(&self) -> String {
        let g = self.g;
        // Where each arrow starts (y) and ends, and whether it goes straight down.
        struct Route {
            from: usize,
            to: usize,
            y0: f64,
            y1: f64,
            straight: bool,
        }
        let mut routes = Vec::new();
        for (i, e) in g.edges.iter().enumerate() {
            let (Some(a), Some(b)) = (self.index_of(&e.from), self.index_of(&e.to)) else { continue };
            let src = &self.placed[a];
            let row = src.rows.iter().position(|(k, _)| *k == i);
            // Straight down only within a band: across one it would cross the band's title.
            let straight = row.is_none() && b == a + 1 && src.band == self.placed[b].band;
            let y0 = match row {
                Some(r) => src.top + TITLE_H + r as f64 * ROW_H + ROW_H / 2.0,
                None => src.top + TITLE_H / 2.0,
            };
            let dst = &self.placed[b];
            routes.push(Route { from: a, to: b, y0, y1: dst.top + TITLE_H / 2.0, straight });
        }
        // Lanes on the right: an arrow takes the first lane free over its whole height;
        // shorter arrows go first, so that they stay close to the boxes.
        let mut lanes: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut lane_of = vec![0usize; routes.len()];
        let mut by_length: Vec<usize> = (0..routes.len()).filter(|&i| !routes[i].straight).collect();
        by_length.sort_by(|&a, &b| {
            let len = |r: &Route| (r.y1 - r.y0).abs();
            len(&routes[a]).total_cmp(&len(&routes[b]))
        });
        for i in by_length {
            let (lo, hi) = (routes[i].y0.min(routes[i].y1) - 3.0, routes[i].y0.max(routes[i].y1) + 3.0);
            let free = lanes.iter().position(|used| used.iter().all(|(a, b)| hi < *a || lo > *b));
            let lane = free.unwrap_or_else(|| {
                lanes.push(Vec::new());
                lanes.len() - 1
            });
            lanes[lane].push((lo, hi));
            lane_of[i] = lane;
        }
        let right = BOX_X + BOX_W;
        let width = right + 14.0 + lanes.len() as f64 * LANE_W + MARGIN;
        let height = self.placed.last().map_or(2.0 * MARGIN, |p| p.top + p.height + MARGIN);
        let mut out = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"sans-serif\" font-size=\"{FONT}\">\n<title>{}</title>\n<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#333\"/></marker></defs>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
            xml_escape(&g.title)
        );
        let palette = ["#eef5ff", "#effaef", "#fff6e8", "#f6efff", "#eefafa", "#fbeff3"];
        for (i, top, bottom) in &self.bands {
            let (id, title) = &g.stages[*i];
            out.push_str(&format!(
                "<g class=\"stage\" id=\"stage-{}\"><rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"10\" fill=\"{}\" stroke=\"#99a\" stroke-dasharray=\"4\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"15\" font-weight=\"bold\" fill=\"#445\">{}</text></g>\n",
                xml_escape(id),
                MARGIN,
                width - 2.0 * MARGIN,
                bottom - top,
                palette[i % palette.len()],
                MARGIN + 10.0,
                top + 18.0,
                xml_escape(&fit(title, width - 2.0 * MARGIN - 20.0, 15.0))
            ));
        }
        for (i, r) in routes.iter().enumerate() {
            let path = if r.straight {
                let x = BOX_X + BOX_W / 2.0;
                let (y0, y1) = (self.placed[r.from].top + self.placed[r.from].height, self.placed[r.to].top);
                format!("M{x:.1},{y0:.1} L{x:.1},{y1:.1}")
            } else {
                let x = right + 14.0 + lane_of[i] as f64 * LANE_W;
                format!("M{right:.1},{:.1} L{x:.1},{:.1} L{x:.1},{:.1} L{right:.1},{:.1}", r.y0, r.y0, r.y1, r.y1)
            };
            out.push_str(&format!(
                "<path class=\"edge\" d=\"{path}\" fill=\"none\" stroke=\"#333\" stroke-width=\"1.2\" marker-end=\"url(#arrow)\"/>\n"
            ));
        }
        for p in &self.placed {
            out.push_str(&self.node_svg(p));
        }
        out.push_str("</svg>\n");
        out
    }

    fn node_svg(&self, p: &Placed) -> String {
        let n = p.node;
        let (line, fill, stroke_width) = match (n.elsewhere, n.reachable, n.branch, n.end) {
            (true, ..) => ("gray", "#f5f5f5", 1.0),
            (false, false, _, _) => ("red", "mistyrose", 1.5),
            (false, true, _, true) => ("darkgreen", "honeydew", 3.0),
            (false, true, true, false) => ("black", "lightyellow", 1.0),
            (false, true, false, false) => ("black", "white", 1.0),
        };
        let dash = if n.elsewhere { " stroke-dasharray=\"5\"" } else { "" };
        let id = format!("[{}]", n.id);
        let id_px = text_px(&id, 11.0);
        let caption = fit(&n.text, BOX_W - id_px - 28.0, FONT);
        let mut s = format!(
            "<g class=\"node\" id=\"node-{}\"><rect x=\"{BOX_X}\" y=\"{:.1}\" width=\"{BOX_W}\" height=\"{:.1}\" rx=\"6\" fill=\"{fill}\" stroke=\"{line}\" stroke-width=\"{stroke_width}\"{dash}/>",
            xml_escape(&n.id),
            p.top,
            p.height
        );
        let base = p.top + TITLE_H / 2.0 + 4.5;
        let weight = if n.elsewhere { "normal" } else { "bold" };
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{base:.1}\" font-weight=\"{weight}\" fill=\"{}\">{}</text>",
            BOX_X + 10.0,
            if n.reachable { "#111" } else { "#b00" },
            xml_escape(&caption)
        ));
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{base:.1}\" font-size=\"11\" fill=\"#667\" text-anchor=\"end\">{}</text>",
            BOX_X + BOX_W - 8.0,
            xml_escape(&id)
        ));
        for (r, (_, label)) in p.rows.iter().enumerate() {
            let y = p.top + TITLE_H + r as f64 * ROW_H + ROW_H / 2.0 + 4.5;
            let text = fit(&format!("→ {label}"), BOX_W - 40.0, 12.0);
            s.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{y:.1}\" font-size=\"12\" fill=\"#333\">{}</text>",
                BOX_X + 22.0,
                xml_escape(&text)
            ));
        }
        s.push_str("</g>\n");
        s
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
