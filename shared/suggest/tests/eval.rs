//! Quality on the evaluation sets with the real model, as tables (`--nocapture`). Ignored by
//! default: they take a minute and print rather than assert.
//!
//! ```sh
//! cargo test -p helix-suggest --test eval -- --ignored --nocapture report   # the metrics
//! cargo test -p helix-suggest --test eval -- --ignored --nocapture fit      # refit the calibration
//! ```

use std::collections::BTreeMap;

use helix_suggest::eval::{self, Metrics, Pair};
use helix_suggest::matcher::Calibration;
use helix_suggest::{MatchOptions, MiniLm, Signals};

fn model() -> MiniLm {
    MiniLm::load(&helix_suggest::model_dir().expect("run scripts/setup.sh: it installs the model into .venv")).unwrap()
}

fn table(rows: &BTreeMap<String, Metrics>) {
    println!(
        "| set | fields | recall@1 | recall@3 | MRR | draft precision | draft recall | no-source left unmapped | value pairs | value accuracy | value accuracy, right column given |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut all = Metrics::default();
    let print = |name: &str, m: &Metrics| {
        println!(
            "| {name} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {}/{} | {} | {:.3} | {:.3} |",
            m.labelled,
            m.recall_at_1(),
            m.recall_at_3(),
            m.mrr(),
            m.assignment_precision(),
            m.assignment_recall(),
            m.no_source_unmapped,
            m.no_source,
            m.value_pairs,
            m.value_accuracy(),
            m.value_accuracy_given_column()
        );
    };
    for (set, m) in rows {
        print(set, m);
        all.add(m);
    }
    print("ALL", &all);
}

fn reliability(pairs: &[Pair]) {
    println!("| confidence | proposals | mean confidence | right |");
    println!("|---|---:|---:|---:|");
    for bin in eval::reliability(pairs, &[0.0, 0.1, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]) {
        println!(
            "| {:.1}–{:.1} | {} | {:.3} | {:.3} |",
            bin.from, bin.to, bin.count, bin.mean_confidence, bin.accuracy
        );
    }
}

#[test]
#[ignore = "needs the model; prints the metrics"]
fn report() {
    let model = model();
    let cases = eval::load_cases(&eval::default_dir()).expect("evaluation sets");
    for (label, signals) in [("combined", Signals::Combined), ("lexical + values", Signals::WithoutEmbedding)] {
        let options = MatchOptions { signals, ..MatchOptions::default() };
        let mut rows: BTreeMap<String, Metrics> = BTreeMap::new();
        let mut pairs = Vec::new();
        let mut sweep: Vec<(f32, Metrics)> = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8].map(|t| (t, Metrics::default())).into();
        // Every field's first-ranked candidate, proposed or not: the calibration over its range.
        let mut firsts = Vec::new();
        for (i, case) in cases.iter().enumerate() {
            let mut prepared = eval::prepare(case, Some(&model), options).expect("case reads");
            let embedder = (signals == Signals::Combined).then_some(&model as &dyn helix_suggest::Embedder);
            let outcome = eval::evaluate(&mut prepared, i, None, options, embedder).expect("case runs");
            rows.entry(case.set.clone()).or_default().add(&outcome.metrics);
            pairs.extend(outcome.pairs);
            if std::env::var_os("HELIX_EVAL_MISTAKES").is_some() {
                outcome.mistakes.iter().for_each(|m| println!("wrong: {m}"));
            }
            let all = MatchOptions { threshold: 0.0, ..options };
            firsts.extend(eval::evaluate(&mut prepared, i, None, all, None).expect("case runs").pairs);
            for (threshold, total) in &mut sweep {
                let o = eval::evaluate(&mut prepared, i, None, MatchOptions { threshold: *threshold, ..options }, None)
                    .expect("case runs");
                total.add(&o.metrics);
            }
        }
        println!("\n## {label}, threshold {}\n", options.threshold);
        table(&rows);
        println!("\nreliability of the draft's proposals:\n");
        reliability(&pairs);
        println!("\nreliability of every field's first-ranked candidate (what threshold 0 would propose):\n");
        reliability(&firsts);
        println!("\nthreshold sweep (all sets):\n\n| threshold | draft precision | draft recall |\n|---:|---:|---:|");
        for (t, m) in &sweep {
            println!("| {t:.1} | {:.3} | {:.3} |", m.assignment_precision(), m.assignment_recall());
        }
    }
}

/// Fits the calibration on all sets and prints it; then, to show how it carries to data it has
/// not seen, fits it again without each set and scores that set.
#[test]
#[ignore = "needs the model; prints the fitted weights"]
fn fit() {
    let model = model();
    let cases = eval::load_cases(&eval::default_dir()).expect("evaluation sets");
    for signals in [Signals::Combined, Signals::WithoutEmbedding] {
        let options = MatchOptions { signals, ..MatchOptions::default() };
        let mut prepared: Vec<_> =
            cases.iter().map(|c| eval::prepare(c, Some(&model), options).expect("case reads")).collect();
        let pairs_of = |prepared: &mut [eval::Prepared<'_>], keep: &dyn Fn(&str) -> bool| -> Vec<Pair> {
            prepared
                .iter_mut()
                .enumerate()
                .filter(|(_, p)| keep(&p.case.set))
                .flat_map(|(i, p)| eval::evaluate(p, i, None, options, None).expect("case runs").pairs)
                .collect()
        };
        let all = pairs_of(&mut prepared, &|_| true);
        let calibration = eval::fit(&all);
        println!("\n{signals:?}: Calibration({:?})", calibration.0);

        let sets: std::collections::BTreeSet<String> = cases.iter().map(|c| c.set.clone()).collect();
        let mut rows: BTreeMap<String, Metrics> = BTreeMap::new();
        let mut held_out_pairs = Vec::new();
        for set in &sets {
            let training = pairs_of(&mut prepared, &|s| s != set);
            let held_out: Calibration = eval::fit(&training);
            for (i, p) in prepared.iter_mut().enumerate().filter(|(_, p)| &p.case.set == set) {
                let o = eval::evaluate(p, i, Some(held_out), options, None).expect("case runs");
                rows.entry(set.clone()).or_default().add(&o.metrics);
                held_out_pairs.extend(o.pairs);
            }
        }
        println!("\neach set scored with the calibration fitted on the others (value maps without the model):\n");
        table(&rows);
        println!();
        reliability(&held_out_pairs);
    }
}
