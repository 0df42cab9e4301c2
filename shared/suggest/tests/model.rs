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
