//! `auto_map` on transform jobs: the target fields a schema requires and a context leaves
//! unmapped, and the context with the proposals for them added to its `fields:`. The context is
//! read by the engine ([`ContextDocument`]): its rules are not repeated here.

use std::collections::BTreeSet;

use helix_engine::ContextDocument;
use helix_engine::formats::InputOptions;
use serde_json::Value;

use crate::{Report, SuggestError, schema};

/// A proposal added to a context: `field` is filled from the source column `source`.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub field: String,
    pub source: String,
    pub score: f32,
    /// The template that reads and converts the column.
    pub expression: String,
}

/// Parses a context that proposals can be added to: one the engine accepts, with a `fields:`
/// mapping. A context without one passes records through or renders a whole-document template:
/// there is no mapping to complete.
pub fn parse_context(name: &str, text: &str) -> Result<ContextDocument, SuggestError> {
    let context = ContextDocument::parse(helix_engine::Source { name, text })
        .map_err(|e| SuggestError::Context(e.to_string()))?;
    if !context.is_field_mapping() {
        return Err(SuggestError::Context(format!(
            "{name} has no `fields:` mapping for auto_map to add the unmapped fields to"
        )));
    }
    Ok(context)
}

/// The scalar target fields that `schema` requires (here and in every enclosing object) and no
/// field of the context maps, in schema order. A field maps the target at its path and every
/// target below it (`customer` maps `customer.id`).
pub fn unmapped_required(context: &ContextDocument, schema: &Value) -> Result<Vec<String>, SuggestError> {
    let (fields, _) = schema::target_fields(schema)?;
    Ok(fields
        .into_iter()
        .filter(|f| f.required && !context.maps(&f.path.split('.').collect::<Vec<_>>()))
        .map(|f| f.path)
        .collect())
}

/// The context's `input:` options (none: detect everything), as the engine reads them.
pub fn input_options(context: &ContextDocument) -> Result<InputOptions, SuggestError> {
    Ok(context.input_options().clone())
}

/// The variables the context's `fields:` read: in templates (`"{{ KUNNR | trim }}"`) and in the
/// expressions of `when:` and `each:`. A column read there is mapped already, and a proposal must
/// not take it for another field.
pub fn read_variables(context: &ContextDocument) -> BTreeSet<String> {
    context.read_variables().clone()
}

/// The fields of a suggestion's report that got a confident source column.
pub fn proposals(report: &Report) -> Vec<Proposal> {
    report
        .fields
        .iter()
        .filter_map(|f| {
            Some(Proposal {
                field: f.target.clone(),
                source: f.source.clone()?,
                score: f.confidence?,
                expression: f.expression.clone()?,
            })
        })
        .collect()
}

/// The context as YAML with each proposal appended to its `fields:`, under a comment that lists
/// them for review. Comments of the original text are not kept.
pub fn merge(context: &ContextDocument, proposals: &[Proposal]) -> Result<String, SuggestError> {
    let mut merged = context.clone();
    merged
        .add_fields(proposals.iter().map(|p| (p.field.as_str(), p.expression.as_str())))
        .map_err(|e| SuggestError::Context(e.to_string()))?;
    let document =
        merged.value().ok_or_else(|| SuggestError::Context("the context has no `fields:` mapping".into()))?;
    let yaml = serde_yaml::to_string(document)
        .map_err(|e| SuggestError::Context(format!("the merged context cannot be written: {e}")))?;
    let mut text =
        String::from("# The submitted context plus the fields auto_map proposed (review them before reuse):\n");
    for p in proposals {
        text.push_str(&format!("#   {}: {:.2} from {}\n", p.field, p.score, p.source.replace(['\n', '\r'], " ")));
    }
    text.push_str(&yaml);
    Ok(text)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::BagOfWords;
    use crate::{FieldRequest, SuggestOptions, suggest_fields};

    const ORDERS: &str = "ORDER_NO;CUST_NO;ERDAT\nA-1;4711;20240301\nA-2;4712;20240302\n";

    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["order_id", "customer", "creation_date"],
            "properties": {
                "order_id": {"type": "string"},
                "creation_date": {"type": "string", "format": "date"},
                "note": {"type": "string"},
                "customer": {"type": "object", "required": ["number"], "properties": {
                    "number": {"type": "string", "title": "Customer number"},
                    "name": {"type": "string"}
                }},
                "billing": {"type": "object", "properties": {"account": {"type": "string"}}, "required": ["account"]}
            }
        })
    }

    #[test]
    fn finds_required_leaves_no_key_maps() {
        let context = parse_context("c.yaml", "fields:\n  order_id: \"{{ ORDER_NO }}\"\n  note: x\n").unwrap();
        assert_eq!(unmapped_required(&context, &schema()).unwrap(), ["creation_date", "customer.number"]);
        let context = parse_context("c.yaml", "fields:\n  customer: \"{{ record }}\"\n  creation_date_x: y\n").unwrap();
        assert_eq!(unmapped_required(&context, &schema()).unwrap(), ["order_id", "creation_date"]);
    }

    #[test]
    fn columns_the_context_reads_are_not_proposed_again() {
        let context = parse_context(
            "c.yaml",
            "fields:\n  order_id: \"{{ ORDER_NO | trim }}\"\n  note: { value: \"{{ coalesce(TEXT, NOTE2) }}\", when: \"FLAG == 'x'\" }\n  items: { each: \"POS\", fields: { n: \"{{ QTY }}\" } }\n  fixed: EUR\n",
        )
        .unwrap();
        // Functions (`coalesce`) count too: no column is named like one.
        let read: Vec<String> = read_variables(&context).into_iter().collect();
        assert_eq!(read, ["FLAG", "NOTE2", "ORDER_NO", "POS", "QTY", "TEXT", "coalesce"]);

        // The order number is mapped: the customer number must not be filled from it.
        let orders = "ORDER_NO;ERDAT\nA-1;20240301\nA-2;20240302\n";
        let schema = json!({"type": "object", "required": ["customer_number"], "properties": {"customer_number": {"type": "string", "title": "Order number of the customer"}}});
        let context = parse_context("c.yaml", "fields:\n  order_id: \"{{ ORDER_NO }}\"\n").unwrap();
        let missing = unmapped_required(&context, &schema).unwrap();
        let request =
            FieldRequest { paths: &missing, taken: &read_variables(&context), input: &InputOptions::default() };
        let suggestion = suggest_fields(
            "o.csv",
            orders.as_bytes(),
            &schema,
            &request,
            Some(&BagOfWords),
            &SuggestOptions::default(),
        )
        .unwrap();
        assert!(proposals(&suggestion.report).iter().all(|p| p.source != "ORDER_NO"), "{:?}", suggestion.report.fields);
    }

    /// A fixed-width file has no columns without the context's field positions.
    #[test]
    fn the_sample_is_read_with_the_contexts_input_options() {
        let context = parse_context(
            "c.yaml",
            "input:\n  format: fixed\n  fields:\n    - { name: ORDER_NO, start: 1, length: 6 }\n    - { name: CUST_NO, start: 7, length: 5 }\n    - { name: ERDAT, start: 12, length: 8 }\nfields:\n  order_id: \"{{ ORDER_NO }}\"\n",
        )
        .unwrap();
        let content = "A-0001 471120240301\nA-0002 471220240302\n";
        let schema = schema();
        let missing = unmapped_required(&context, &schema).unwrap();
        let (taken, input) = (read_variables(&context), input_options(&context).unwrap());
        let request = FieldRequest { paths: &missing, taken: &taken, input: &input };
        let suggestion = suggest_fields(
            "orders.txt",
            content.as_bytes(),
            &schema,
            &request,
            Some(&BagOfWords),
            &SuggestOptions::default(),
        )
        .unwrap();
        let found: Vec<(String, String)> =
            proposals(&suggestion.report).into_iter().map(|p| (p.field, p.source)).collect();
        assert_eq!(
            found,
            [("creation_date".to_owned(), "ERDAT".to_owned()), ("customer.number".to_owned(), "CUST_NO".to_owned())]
        );
        let unknown_option =
            parse_context("c.yaml", "input: { colour: red }\nfields: { order_id: \"{{ ORDER_NO }}\" }\n");
        assert!(matches!(unknown_option, Err(SuggestError::Context(_))));
    }

    #[test]
    fn only_contexts_with_a_fields_mapping_take_proposals() {
        for (name, text) in [
            ("c.yaml", "input: {format: csv}\n"),
            ("c.yaml", "template: \"[]\"\n"),
            ("c.yaml.j2", "[]"),
            ("c.yaml", "fields: [a]\n"),
        ] {
            assert!(matches!(parse_context(name, text), Err(SuggestError::Context(_))), "{name}: {text}");
        }
        assert!(matches!(parse_context("c.yaml", "fields: {a: \"{{ x }\"\n"), Err(SuggestError::Context(_))));
    }

    #[test]
    fn proposals_complete_the_context_and_it_runs() {
        let schema = schema();
        let context = parse_context("c.yaml", "# mine\nfields:\n  order_id: \"{{ ORDER_NO }}\"\n").unwrap();
        let missing = unmapped_required(&context, &schema).unwrap();
        let (taken, input) = (read_variables(&context), input_options(&context).unwrap());
        let request = FieldRequest { paths: &missing, taken: &taken, input: &input };
        let suggestion = suggest_fields(
            "orders.csv",
            ORDERS.as_bytes(),
            &schema,
            &request,
            Some(&BagOfWords),
            &SuggestOptions::default(),
        )
        .unwrap();
        let targets: Vec<&str> = suggestion.report.fields.iter().map(|f| f.target.as_str()).collect();
        assert_eq!(targets, ["creation_date", "customer.number"]);
        let proposals = proposals(&suggestion.report);
        let found: Vec<(&str, &str)> = proposals.iter().map(|p| (p.field.as_str(), p.source.as_str())).collect();
        assert_eq!(found, [("creation_date", "ERDAT"), ("customer.number", "CUST_NO")]);

        let merged = merge(&context, &proposals).unwrap();
        assert!(merged.starts_with("# The submitted context plus the fields auto_map proposed"), "{merged}");
        assert!(merged.contains("#   customer.number: "), "{merged}");
        let t = helix_engine::compile(
            Some(helix_engine::Source { name: "context.yaml", text: &merged }),
            Some(helix_engine::Source { name: "schema.json", text: &schema.to_string() }),
        )
        .unwrap_or_else(|e| panic!("{e}\n{merged}"));
        let (mut out, mut rejects) = (Vec::new(), Vec::new());
        let mut run = t.start(&mut out, &mut rejects).unwrap();
        run.feed("orders.csv", &mut ORDERS.as_bytes()).unwrap();
        run.finish().unwrap();
        let records: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            records[0],
            json!({"order_id": "A-1", "creation_date": "2024-03-01", "customer": {"number": "4711"}})
        );
    }
}
