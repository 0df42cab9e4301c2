//! `helix transform` without the CLI around it, for profiling the engine:
//! `cargo run --release -p helix-engine --example transform -- CONTEXT SCHEMA THREADS IN OUT`.

use std::fs::File;
use std::io::{BufWriter, Write};

use helix_engine::{Source, compile};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [context, schema, threads, input, output] = args.as_slice() else {
        panic!("usage: transform CONTEXT SCHEMA THREADS IN OUT");
    };
    let (ctx, sch) = (std::fs::read_to_string(context).unwrap(), std::fs::read_to_string(schema).unwrap());
    let mut t = compile(Some(Source { name: context, text: &ctx }), Some(Source { name: schema, text: &sch })).unwrap();
    t.set_threads(threads.parse().unwrap());
    let mut out = BufWriter::with_capacity(64 << 10, File::create(output).unwrap());
    let mut rej = std::io::sink();
    let mut run = t.start(&mut out, &mut rej).unwrap();
    run.feed(input, &mut File::open(input).unwrap()).unwrap();
    let summary = run.finish().unwrap();
    out.flush().unwrap();
    eprintln!("{} in, {} out, {} rejected", summary.records_in, summary.records_out, summary.records_rejected);
}
