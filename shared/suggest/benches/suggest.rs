//! `cargo bench -p helix-suggest`: quality on the labelled evaluation set (recall@1, recall@3,
//! MRR, and the final assignment) for the combined matcher, the matcher without embeddings and a
//! name-only baseline; embedding throughput; and a 200-column file against a 700-field schema.

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

fn quality(model: &MiniLm) {
    let cases = eval::load_cases(&eval::default_dir()).expect("evaluation set");
    println!(
        "\n## Evaluation set: {} cases ({})",
        cases.len(),
        cases.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
    );
    println!(
        "| matcher | fields | recall@1 | recall@3 | MRR | assigned right | assignment precision | no-source fields left unmapped |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (label, signals) in [
        ("name-only baseline", Signals::NameOnly),
        ("lexical + values", Signals::WithoutEmbedding),
        ("combined", Signals::Combined),
    ] {
        let mut total = Metrics::default();
        for case in &cases {
            let m = eval::evaluate(case, Some(model), MatchOptions { signals, ..MatchOptions::default() })
                .expect("case runs");
            total.add(&m);
        }
        println!(
            "| {label} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {}/{} |",
            total.labelled,
            total.recall_at_1(),
            total.recall_at_3(),
            total.mrr(),
            total.assignment_recall(),
            total.assignment_precision(),
            total.no_source_unmapped,
            total.no_source
        );
    }
    println!("\nper case, combined:");
    println!("| case | columns | fields | recall@1 | recall@3 | MRR |");
    println!("|---|---:|---:|---:|---:|---:|");
    for case in &cases {
        let m = eval::evaluate(case, Some(model), MatchOptions::default()).expect("case runs");
        println!(
            "| {} | {} | {} | {:.3} | {:.3} | {:.3} |",
            case.name,
            m.columns,
            m.fields,
            m.recall_at_1(),
            m.recall_at_3(),
            m.mrr()
        );
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
