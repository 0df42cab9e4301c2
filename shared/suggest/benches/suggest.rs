//! `cargo bench -p helix-suggest`: quality on the evaluation sets in one table, per set and
//! overall (recall@1, recall@3, MRR, the draft's precision and recall, value-map accuracy, and
//! the records accepted when the draft runs), for the combined matcher, the matcher without
//! embeddings and the name-only floor; the reliability of the confidence (a table, and a diagram
//! in `target/suggest-reliability.svg`); embedding throughput; and a 200-column file against a
//! 700-field schema.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use helix_suggest::eval::{self, Metrics};
use helix_suggest::{Embedder, MatchOptions, MiniLm, Signals, SuggestOptions};
use serde_json::{Map, Value, json};

fn main() {
    let model = MiniLm::load(&helix_suggest::model_dir().expect("model")).expect("model loads");
    println!(
        "model: all-MiniLM-L6-v2 on {}, {} threads",
        model.device_name(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    quality(&model);
    throughput(&model);
    wide(&model);
}

/// Quality and what a draft does with the records, per set and overall, for one matcher.
#[derive(Default)]
struct Row {
    metrics: Metrics,
    records: u64,
    accepted: u64,
    /// Records of the cases whose value maps have a target for every sampled value.
    covered_records: u64,
    covered_accepted: u64,
}

impl Row {
    fn add(&mut self, other: &Row) {
        self.metrics.add(&other.metrics);
        self.records += other.records;
        self.accepted += other.accepted;
        self.covered_records += other.covered_records;
        self.covered_accepted += other.covered_accepted;
    }
}

fn share(part: u64, whole: u64) -> String {
    if whole == 0 { "–".into() } else { format!("{:.3}", part as f64 / whole as f64) }
}

fn quality(model: &MiniLm) {
    let cases = eval::load_cases(&eval::default_dir()).expect("evaluation sets");
    let sets: BTreeSet<&str> = cases.iter().map(|c| c.set.as_str()).collect();
    println!(
        "\n## Evaluation sets: {} cases in {} sets ({}), threshold {}",
        cases.len(),
        sets.len(),
        sets.iter().copied().collect::<Vec<_>>().join(", "),
        MatchOptions::default().threshold
    );
    println!(
        "records accepted: the draft run by the engine over the case's file against its schema; \"values covered\": \
         the cases whose value maps have a target value for every sampled value"
    );
    println!(
        "| matcher | set | fields | recall@1 | recall@3 | MRR | draft precision | draft recall | value pairs | value-map accuracy | value-map accuracy, right column given | records | records accepted | records accepted, values covered |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut reliability_pairs = Vec::new();
    for (label, signals) in [
        ("name-only floor", Signals::NameOnly),
        ("lexical + values", Signals::WithoutEmbedding),
        ("combined", Signals::Combined),
    ] {
        let options = MatchOptions { signals, ..MatchOptions::default() };
        let suggest_options = SuggestOptions { matching: options, ..SuggestOptions::default() };
        let embedder = (signals == Signals::Combined).then_some(model as &dyn Embedder);
        let mut per_set: BTreeMap<&str, Row> = BTreeMap::new();
        for (i, case) in cases.iter().enumerate() {
            let mut prepared = eval::prepare(case, Some(model), options).expect("case reads");
            let outcome = eval::evaluate(&mut prepared, i, None, options, embedder).expect("case runs");
            let run = eval::run_draft(case, embedder, &suggest_options).expect("the draft runs");
            let row = per_set.entry(case.set.as_str()).or_default();
            row.metrics.add(&outcome.metrics);
            row.records += run.records;
            row.accepted += run.accepted;
            if run.values_covered {
                row.covered_records += run.records;
                row.covered_accepted += run.accepted;
            }
            if signals == Signals::Combined {
                reliability_pairs.extend(outcome.pairs);
            }
        }
        let mut total = Row::default();
        for row in per_set.values() {
            total.add(row);
        }
        for (set, row) in per_set.iter().map(|(s, r)| (*s, r)).chain([("ALL", &total)]) {
            let m = &row.metrics;
            println!(
                "| {label} | {set} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {:.3} | {:.3} | {} | {} | {} |",
                m.labelled,
                m.recall_at_1(),
                m.recall_at_3(),
                m.mrr(),
                m.assignment_precision(),
                m.assignment_recall(),
                m.value_pairs,
                m.value_accuracy(),
                m.value_accuracy_given_column(),
                row.records,
                share(row.accepted, row.records),
                share(row.covered_accepted, row.covered_records),
            );
        }
    }
    println!("\nreliability of the combined draft's proposals (confidence bin: how many, how often right):");
    println!("| confidence | proposals | mean confidence | right |");
    println!("|---|---:|---:|---:|");
    let bins = eval::reliability(&reliability_pairs, &[0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]);
    for bin in &bins {
        println!(
            "| {:.1}–{:.1} | {} | {:.3} | {:.3} |",
            bin.from, bin.to, bin.count, bin.mean_confidence, bin.accuracy
        );
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"), Into::into);
    let plot = target.join("suggest-reliability.svg");
    let svg = eval::reliability_svg("Reliability of the combined draft's proposals", &bins);
    match std::fs::write(&plot, svg) {
        Ok(()) => println!("reliability diagram: {}", plot.display()),
        Err(e) => println!("reliability diagram not written to {}: {e}", plot.display()),
    }
}

const WORDS: &[&str] = &[
    "customer",
    "order",
    "invoice",
    "delivery",
    "material",
    "product",
    "supplier",
    "quantity",
    "amount",
    "price",
    "date",
    "created",
    "changed",
    "posting",
    "document",
    "number",
    "code",
    "name",
    "description",
    "status",
    "currency",
    "net",
    "gross",
    "weight",
    "unit",
    "plant",
    "warehouse",
    "city",
    "country",
    "street",
    "postal",
    "phone",
    "email",
    "tax",
    "account",
    "cost",
];

fn synthetic_name(i: usize, words: usize) -> String {
    (0..words).map(|k| WORDS[(i * 7 + k * 13 + i / WORDS.len()) % WORDS.len()]).collect::<Vec<_>>().join("_")
        + &format!("_{i}")
}

fn throughput(model: &MiniLm) {
    let texts: Vec<String> = (0..2000).map(|i| synthetic_name(i, 2 + i % 3).replace('_', " ")).collect();
    model.embed(&texts[..64]).expect("warm-up");
    let start = Instant::now();
    model.embed(&texts).expect("embeds");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "\n## Embedding throughput\n{} field texts in {:.2} s: {:.0} fields/s ({})",
        texts.len(),
        secs,
        texts.len() as f64 / secs,
        model.device_name()
    );
}

fn wide(model: &MiniLm) {
    let columns: Vec<String> = (0..200).map(|i| synthetic_name(i, 2).to_uppercase()).collect();
    let mut csv = columns.join(";") + "\n";
    for row in 0..50 {
        let values: Vec<String> =
            (0..200).map(|c| if c % 3 == 0 { format!("{}", row * 10 + c) } else { format!("v{row}x{c}") }).collect();
        csv += &(values.join(";") + "\n");
    }
    let mut properties = Map::new();
    for i in 0..700 {
        let ty = if i % 3 == 0 { "integer" } else { "string" };
        properties.insert(synthetic_name(i * 3 + 1, 3), json!({"type": ty, "description": format!("field {i}")}));
    }
    let schema: Value = json!({"type": "object", "properties": properties});
    let start = Instant::now();
    let s = helix_suggest::suggest("wide.csv", csv.as_bytes(), Some(&schema), Some(model), &SuggestOptions::default())
        .expect("suggests");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "\n## 200 columns × 700 target fields\nsuggestion (sample, 900 embeddings, 140,000 scored pairs, assignment, draft) in {secs:.2} s; {} fields mapped",
        s.report.fields.len() - s.report.unmapped_fields.len()
    );
}
