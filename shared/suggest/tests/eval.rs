//! Quality on the evaluation sets with the real model, as tables (`--nocapture`). Ignored by
//! default: they take a minute and print rather than assert.
//!
//! ```sh
//! cargo test -p helix-suggest --test eval -- --ignored --nocapture report   # the metrics
//! cargo test -p helix-suggest --test eval -- --ignored --nocapture fit      # refit the calibration
//! cargo test -p helix-suggest --test eval -- --ignored --nocapture drafts   # records accepted
//! ```
//!
//! `HELIX_EVAL_SETS=omop-etl,helix` limits them to some sets, `HELIX_EVAL_SIGNALS=combined` (or
//! `lexical`) to one matcher, and `HELIX_EVAL_MISTAKES=1` lists the report's wrong and missed
//! fields.

use std::collections::BTreeMap;

use helix_suggest::eval::{self, Metrics, Pair};
use helix_suggest::matcher::Calibration;
use helix_suggest::{MatchOptions, MiniLm, Signals};

/// The evaluation cases, only those of the sets named in `HELIX_EVAL_SETS` (comma-separated)
/// when it is set: a quicker look while working on one kind of data.
fn cases() -> Vec<eval::Case> {
    let cases = eval::load_cases(&eval::default_dir()).expect("evaluation sets");
    match std::env::var("HELIX_EVAL_SETS") {
        Ok(sets) => cases.into_iter().filter(|c| sets.split(',').any(|s| s == c.set)).collect(),
        Err(_) => cases,
    }
}

/// The signals to report on: both, or only the one named in `HELIX_EVAL_SIGNALS` (`combined`,
/// `lexical`).
fn signals() -> Vec<(&'static str, Signals)> {
    let all = [("combined", Signals::Combined), ("lexical + values", Signals::WithoutEmbedding)];
    let wanted = std::env::var("HELIX_EVAL_SIGNALS").unwrap_or_default();
    all.into_iter().filter(|(label, _)| wanted.is_empty() || label.starts_with(wanted.as_str())).collect()
}

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

/// The thresholds a sweep tries.
const SWEEP: [f32; 7] = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

fn print_sweep(sweep: &[(f32, Metrics)]) {
    println!("\nthreshold sweep (all sets):\n\n| threshold | draft precision | draft recall |\n|---:|---:|---:|");
    for (t, m) in sweep {
        println!("| {t:.1} | {:.3} | {:.3} |", m.assignment_precision(), m.assignment_recall());
    }
}

#[test]
#[ignore = "needs the model; prints the metrics"]
fn report() {
    let model = model();
    let cases = cases();
    for (label, signals) in signals() {
        let options = MatchOptions { signals, ..MatchOptions::default() };
        let mut rows: BTreeMap<String, Metrics> = BTreeMap::new();
        let mut pairs = Vec::new();
        let mut sweep: Vec<(f32, Metrics)> = SWEEP.map(|t| (t, Metrics::default())).into();
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
                outcome.missed.iter().for_each(|m| println!("missed: {m}"));
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
        print_sweep(&sweep);
    }
}

/// Fits the calibration on all sets and prints it; then, to show how it carries to data it has
/// not seen, fits it again without each set and scores that set.
#[test]
#[ignore = "needs the model; prints the fitted weights"]
fn fit() {
    let model = model();
    let cases = cases();
    for (_, signals) in signals() {
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
        let mut sweep: Vec<(f32, Metrics)> = SWEEP.map(|t| (t, Metrics::default())).into();
        for set in &sets {
            let training = pairs_of(&mut prepared, &|s| s != set);
            let held_out: Calibration = eval::fit(&training);
            for (i, p) in prepared.iter_mut().enumerate().filter(|(_, p)| &p.case.set == set) {
                let o = eval::evaluate(p, i, Some(held_out), options, None).expect("case runs");
                rows.entry(set.clone()).or_default().add(&o.metrics);
                held_out_pairs.extend(o.pairs);
                for (threshold, total) in &mut sweep {
                    let at = MatchOptions { threshold: *threshold, ..options };
                    total.add(&eval::evaluate(p, i, None, at, None).expect("case runs").metrics);
                }
            }
        }
        println!("\neach set scored with the calibration fitted on the others (value maps without the model):\n");
        table(&rows);
        println!();
        reliability(&held_out_pairs);
        print_sweep(&sweep);
    }
}

/// Each case's draft run through the engine against its schema: records accepted, overall and on
/// the cases whose sampled values the value maps cover, and the required fields no draft fills.
#[test]
#[ignore = "needs the model; prints the records accepted"]
fn drafts() {
    let model = model();
    let options = helix_suggest::SuggestOptions::default();
    let mut rows: BTreeMap<String, [u64; 4]> = BTreeMap::new();
    for case in &cases() {
        let run = eval::run_draft(case, Some(&model), &options).expect("the draft runs");
        let row = rows.entry(case.set.clone()).or_default();
        row[0] += run.records;
        row[1] += run.accepted;
        if run.values_covered {
            row[2] += run.records;
            row[3] += run.accepted;
        }
        if run.accepted < run.records {
            println!(
                "{}: {} of {} accepted; first reject: {}",
                case.name,
                run.accepted,
                run.records,
                run.first_reject.map_or_else(String::new, |r| r.to_string())
            );
        }
        if !run.rejecting_fields.is_empty() {
            println!("{}: required, unmapped: {}", case.name, run.rejecting_fields.join(", "));
        }
    }
    println!("\n| set | records | accepted | share | records, values covered | accepted | share |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut all = [0u64; 4];
    for row in rows.values() {
        all.iter_mut().zip(row).for_each(|(a, r)| *a += r);
    }
    let share = |a: u64, n: u64| if n == 0 { "–".to_owned() } else { format!("{:.3}", a as f64 / n as f64) };
    for (set, row) in rows.iter().map(|(s, r)| (s.as_str(), r)).chain([("ALL", &all)]) {
        println!(
            "| {set} | {} | {} | {} | {} | {} | {} |",
            row[0],
            row[1],
            share(row[1], row[0]),
            row[2],
            row[3],
            share(row[3], row[2])
        );
    }
}

/// The draft context of the cases named in `HELIX_EVAL_CASES` (comma-separated), to read.
#[test]
#[ignore = "needs the model; prints drafts"]
fn show() {
    let model = model();
    let wanted = std::env::var("HELIX_EVAL_CASES").unwrap_or_default();
    for case in cases().iter().filter(|c| wanted.split(',').any(|w| w == c.name)) {
        let s = helix_suggest::suggest(
            &case.content_name,
            &case.content,
            Some(&case.schema),
            Some(&model),
            &helix_suggest::SuggestOptions::default(),
        )
        .expect("a suggestion");
        println!("# {}\n{}", case.name, s.context_yaml);
    }
}
