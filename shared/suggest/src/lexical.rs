//! Names as words: identifiers split into tokens, domain abbreviations (SAP, clinical, finance,
//! HR) and German/French/Spanish/Dutch header words expanded to English, and a similarity over
//! the result. The abbreviation tables are data (`abbreviations/*.tsv`, compiled in), and a team
//! extends them with its own file ([`Abbreviations::extended`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

/// The built-in tables, one per domain (`abbreviations/README.md` describes the format).
const BUILT_IN: &[(&str, &str)] = &[
    ("general.tsv", include_str!("../abbreviations/general.tsv")),
    ("erp.tsv", include_str!("../abbreviations/erp.tsv")),
    ("clinical.tsv", include_str!("../abbreviations/clinical.tsv")),
    ("finance.tsv", include_str!("../abbreviations/finance.tsv")),
    ("hr.tsv", include_str!("../abbreviations/hr.tsv")),
    ("german.tsv", include_str!("../abbreviations/german.tsv")),
    ("french.tsv", include_str!("../abbreviations/french.tsv")),
    ("spanish.tsv", include_str!("../abbreviations/spanish.tsv")),
    ("dutch.tsv", include_str!("../abbreviations/dutch.tsv")),
];

/// A line of an abbreviations file that is not `ABBREVIATION<TAB>words`.
#[derive(Debug, thiserror::Error)]
#[error("{file} line {line}: {reason}")]
pub struct AbbreviationsError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

/// One entry of an abbreviations file: the key as written and the words it stands for.
struct Entry {
    key: String,
    words: Vec<String>,
}

/// Reads an abbreviations file: `ABBREVIATION<TAB>words` a line, `#` comments, blank lines.
fn parse(file: &str, text: &str) -> Result<Vec<Entry>, AbbreviationsError> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let error = |reason: String| AbbreviationsError { file: file.to_owned(), line: i + 1, reason };
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let Some((key, words)) = line.split_once('\t').or_else(|| (!line.trim().contains(' ')).then_some((line, "")))
        else {
            return Err(error("no tab between the abbreviation and its words".into()));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(error("no abbreviation before the tab".into()));
        }
        if !key.split(' ').all(|word| !word.is_empty() && word.chars().all(char::is_alphanumeric)) {
            return Err(error(format!(
                "`{key}` is not a word of a name, or words separated by single spaces (letters and digits only; \
                 separate the abbreviation from its words with a tab)"
            )));
        }
        let words: Vec<String> = words.split_whitespace().map(fold).collect();
        if words.iter().any(|w| !w.chars().all(char::is_alphanumeric)) {
            return Err(error("the words after the tab are letters and digits separated by spaces".into()));
        }
        entries.push(Entry { key: key.to_owned(), words });
    }
    Ok(entries)
}

/// Abbreviations and foreign header words → English words: the built-in domain tables, and what
/// a team adds. A key in mixed case (`pT`) matches only as written, before the name is split at
/// case changes; any other key (`matnr`, `MATNR`) in any case.
#[derive(Debug, Clone, Default)]
pub struct Abbreviations {
    /// Lowercase key → its words (none: the word is dropped, as `de` in `N° de commande`).
    any_case: HashMap<String, Vec<String>>,
    /// Keys matched only as written.
    exact: HashMap<String, Vec<String>>,
    /// Words a compound may be split into: keys of three letters or more and the words the
    /// table produces.
    known: HashSet<String>,
    /// Keys of several words (`pathologic t`), matched on a name's words as written, the longest
    /// first: a letter that is an abbreviation only after its word (`ajcc_pathologic_n`).
    phrases: HashMap<Vec<String>, Vec<String>>,
    /// The most words of a key in `phrases`.
    longest_phrase: usize,
}

/// `pT`, `ypN`: a key matched only as written.
fn mixed_case(key: &str) -> bool {
    key.chars().any(char::is_uppercase) && key.chars().any(char::is_lowercase)
}

/// Words a compound splits into besides the table's (`artikelname`, `bestellstatus`).
const COMPOUND_WORDS: &[&str] =
    &["name", "code", "date", "number", "status", "type", "text", "email", "order", "line", "total"];

impl Abbreviations {
    /// The built-in tables (every domain).
    pub fn built_in() -> Arc<Abbreviations> {
        static TABLE: OnceLock<Arc<Abbreviations>> = OnceLock::new();
        TABLE
            .get_or_init(|| {
                let mut table = Abbreviations::default();
                for (file, text) in BUILT_IN {
                    let entries = parse(file, text).unwrap_or_else(|e| panic!("built-in abbreviations: {e}"));
                    table.add(entries);
                }
                table.known.extend(COMPOUND_WORDS.iter().map(|w| (*w).to_owned()));
                Arc::new(table)
            })
            .clone()
    }

    /// These tables plus a team's file (`file` names it in errors): its entries win over these.
    pub fn extended(&self, file: &str, text: &str) -> Result<Abbreviations, AbbreviationsError> {
        let mut table = self.clone();
        table.add(parse(file, text)?);
        Ok(table)
    }

    fn add(&mut self, entries: Vec<Entry>) {
        for Entry { key, words } in entries {
            if key.contains(' ') {
                let key: Vec<String> = key.split(' ').map(fold).collect();
                self.longest_phrase = self.longest_phrase.max(key.len());
                self.phrases.insert(key, words);
                continue;
            }
            let folded = fold(&key);
            if folded.chars().count() >= 3 && !words.is_empty() {
                self.known.insert(folded.clone());
            }
            self.known.extend(words.iter().filter(|w| w.chars().count() >= 3).cloned());
            if mixed_case(&key) {
                self.exact.insert(key, words);
            } else {
                self.any_case.insert(folded, words);
            }
        }
    }

    /// A name as English words: tokens, each expanded through the tables, compounds
    /// (`kundennummer`, `custno`) split into known words. Unknown tokens stay as they are.
    pub fn expand(&self, name: &str) -> Vec<String> {
        // A part that is a key as written (`pT`) is expanded whole, before it is split at case
        // changes: a token without text among the others.
        let mut tokens: Vec<(Option<String>, Option<&Vec<String>>)> = Vec::new();
        for part in parts(name) {
            match self.exact.get(&part) {
                Some(words) => tokens.push((None, Some(words))),
                None => tokens.extend(split_part(&part).into_iter().map(|token| (Some(token), None))),
            }
        }
        let mut out = Vec::new();
        let mut i = 0;
        'tokens: while i < tokens.len() {
            for n in (2..=self.longest_phrase.min(tokens.len() - i)).rev() {
                let key: Option<Vec<String>> = tokens[i..i + n].iter().map(|(token, _)| token.clone()).collect();
                if let Some(words) = key.and_then(|key| self.phrases.get(&key)) {
                    out.extend(words.iter().cloned());
                    i += n;
                    continue 'tokens;
                }
            }
            match &tokens[i] {
                (Some(token), _) => self.expand_token(token, &mut out),
                (None, words) => out.extend(words.iter().copied().flatten().cloned()),
            }
            i += 1;
        }
        out
    }

    fn expand_token(&self, token: &str, out: &mut Vec<String>) {
        if let Some(words) = self.any_case.get(token) {
            out.extend(words.iter().cloned());
        } else if let Some(pieces) = self.split_compound(token) {
            for piece in pieces {
                match self.any_case.get(&piece) {
                    Some(words) => out.extend(words.iter().cloned()),
                    None => out.push(piece),
                }
            }
        } else {
            out.push(token.to_owned());
        }
    }

    /// The expanded name as a phrase, for embedding and for people.
    pub fn phrase(&self, name: &str) -> String {
        self.expand(name).join(" ")
    }

    /// `kundennummer` → [kunden, nummer]; `bestelldatum` → [bestell, datum]: the split into the
    /// fewest known words, at least 3 letters each.
    fn split_compound(&self, token: &str) -> Option<Vec<String>> {
        let chars: Vec<char> = token.chars().collect();
        let n = chars.len();
        if n < 6 || !chars.iter().all(|c| c.is_alphabetic()) {
            return None;
        }
        // best[i]: fewest words covering chars[..i], with the split point.
        let mut best: Vec<Option<(usize, usize)>> = vec![None; n + 1];
        best[0] = Some((0, 0));
        for end in 3..=n {
            for start in 0..=end.saturating_sub(3) {
                let Some((count, _)) = best[start] else { continue };
                let word: String = chars[start..end].iter().collect();
                if self.known.contains(&word) && best[end].is_none_or(|(c, _)| count + 1 < c) {
                    best[end] = Some((count + 1, start));
                }
            }
        }
        let (count, _) = best[n]?;
        if count < 2 {
            return None;
        }
        let mut pieces = Vec::new();
        let mut end = n;
        while end > 0 {
            let (_, start) = best[end]?;
            pieces.push(chars[start..end].iter().collect());
            end = start;
        }
        pieces.reverse();
        Some(pieces)
    }
}

/// Words that say the same thing in field names; each maps to one canonical word.
const SYNONYMS: &[(&str, &str)] = &[
    ("id", "number"),
    ("identifier", "number"),
    ("key", "number"),
    ("vendor", "supplier"),
    ("client", "customer"),
    ("article", "product"),
    ("material", "product"),
    ("item", "product"),
    ("cost", "price"),
    ("value", "amount"),
    ("sum", "amount"),
    ("total", "amount"),
    ("qty", "quantity"),
    ("count", "quantity"),
    ("zip", "postal"),
    ("postcode", "postal"),
    ("town", "city"),
    ("mail", "email"),
    ("telephone", "phone"),
    ("modified", "changed"),
    ("updated", "changed"),
    ("creation", "created"),
    ("create", "created"),
    ("surname", "last"),
    ("family", "last"),
    ("given", "first"),
    ("firm", "company"),
    ("organisation", "organization"),
    ("purchase", "order"),
    ("sex", "gender"),
    // The individual a record is about: the same in clinical, claims and study tables.
    ("patient", "person"),
    ("subject", "person"),
    ("participant", "person"),
    ("beneficiary", "person"),
    ("individual", "person"),
    // A period's bounds: `CLM_FROM_DT` / `CLM_THRU_DT` are its start and end dates.
    ("from", "start"),
    ("through", "end"),
    ("until", "end"),
    ("stop", "end"),
    ("finish", "end"),
    ("begin", "start"),
];

fn synonyms() -> &'static HashMap<&'static str, &'static str> {
    static TABLE: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| SYNONYMS.iter().copied().collect())
}

/// Lowercase with accents folded (`Währung` → `wahrung`, `Straße` → `strasse`).
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            'ä' | 'à' | 'á' | 'â' | 'ã' | 'å' | 'Ä' | 'À' | 'Á' | 'Â' => out.push('a'),
            'ö' | 'ò' | 'ó' | 'ô' | 'õ' | 'Ö' | 'Ó' | 'Ô' => out.push('o'),
            'ü' | 'ù' | 'ú' | 'û' | 'Ü' | 'Ú' => out.push('u'),
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' => out.push('e'),
            'í' | 'ì' | 'î' | 'ï' | 'Í' => out.push('i'),
            'ñ' | 'Ñ' => out.push('n'),
            'ç' | 'Ç' => out.push('c'),
            'ß' => out.push_str("ss"),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// The parts of a name between separators (anything but letters and digits); `°` and `º` read as
/// `o` (`N°` is "number").
fn parts(name: &str) -> Vec<String> {
    let name = name.replace(['°', 'º'], "o ");
    name.split(|c: char| !c.is_alphanumeric()).filter(|p| !p.is_empty()).map(str::to_owned).collect()
}

/// A part split at case changes, lowercase and folded.
fn split_part(part: &str) -> Vec<String> {
    let chars: Vec<char> = part.chars().collect();
    let mut words = Vec::new();
    let mut start = 0;
    for i in 1..chars.len() {
        let camel = chars[i].is_uppercase() && chars[i - 1].is_lowercase();
        let acronym_end =
            chars[i].is_lowercase() && chars[i - 1].is_uppercase() && i >= 2 && chars[i - 2].is_uppercase();
        if camel {
            words.push(chars[start..i].iter().collect::<String>());
            start = i;
        } else if acronym_end {
            words.push(chars[start..i - 1].iter().collect::<String>());
            start = i - 1;
        }
    }
    if start < chars.len() {
        words.push(chars[start..].iter().collect::<String>());
    }
    words.iter().flat_map(|w| fold(w).split_whitespace().map(str::to_owned).collect::<Vec<_>>()).collect()
}

/// Splits an identifier into lowercase tokens: `CUST_NO` → [cust, no], `orderDate` → [order,
/// date], `Rechnungs-Nr.` → [rechnungs, nr]. Letters and digits stay together (`NAME1`), as SAP
/// names need.
pub fn tokens(name: &str) -> Vec<String> {
    parts(name).iter().flat_map(|p| split_part(p)).collect()
}

/// [`Abbreviations::expand`] with the built-in tables.
pub fn expand(name: &str) -> Vec<String> {
    Abbreviations::built_in().expand(name)
}

/// [`Abbreviations::phrase`] with the built-in tables.
pub fn phrase(name: &str) -> String {
    Abbreviations::built_in().phrase(name)
}

fn canonical(word: &str) -> String {
    let w = synonyms().get(word).copied().unwrap_or(word);
    let stem = if w.len() > 4 && w.ends_with('s') && !w.ends_with("ss") { &w[..w.len() - 1] } else { w };
    synonyms().get(stem).copied().unwrap_or(stem).to_owned()
}

const STOP_WORDS: &[&str] = &["of", "the", "a", "an", "for", "in", "by", "to"];

/// Canonical content words of an expanded name.
pub fn concepts(words: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in words {
        if STOP_WORDS.contains(&w.as_str()) {
            continue;
        }
        let c = canonical(w);
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// Dice coefficient of two word sets.
fn dice(a: &[String], b: &[String]) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let common = a.iter().filter(|w| b.contains(w)).count();
    2.0 * common as f32 / (a.len() + b.len()) as f32
}

fn trigrams(s: &str) -> Vec<[char; 3]> {
    let chars: Vec<char> = std::iter::once(' ')
        .chain(fold(s).chars().filter(|c| c.is_alphanumeric() || *c == ' '))
        .chain(std::iter::once(' '))
        .collect();
    let mut grams: Vec<[char; 3]> = chars.windows(3).map(|w| [w[0], w[1], w[2]]).collect();
    grams.sort_unstable();
    grams.dedup();
    grams
}

fn gram_dice(a: &[[char; 3]], b: &[[char; 3]]) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let common = a.iter().filter(|g| b.binary_search(g).is_ok()).count();
    2.0 * common as f32 / (a.len() + b.len()) as f32
}

/// Dice coefficient of the character trigrams of two strings.
pub fn trigram_similarity(a: &str, b: &str) -> f32 {
    gram_dice(&trigrams(a), &trigrams(b))
}

/// A name prepared for comparison: its canonical concepts and the trigrams of their phrase.
#[derive(Debug, Clone)]
pub struct Name {
    concepts: Vec<String>,
    grams: Vec<[char; 3]>,
}

impl Name {
    pub fn new(expanded: &[String]) -> Self {
        let concepts = concepts(expanded);
        let grams = trigrams(&concepts.join(" "));
        Self { concepts, grams }
    }

    /// How alike two names are once both are expanded to English concepts (0..1): mostly shared
    /// concepts, some spelling similarity for what the tables don't know.
    pub fn similarity(&self, other: &Name) -> f32 {
        self.weighted_similarity(other, &|_| 1.0)
    }

    /// [`Name::similarity`] with each concept counted at `weight`: a word that many target
    /// fields share ("tumor" in a clinical schema, "concept" in OMOP) says little about which
    /// one a column is.
    pub fn weighted_similarity(&self, other: &Name, weight: &dyn Fn(&str) -> f32) -> f32 {
        let total = |c: &[String]| c.iter().map(|w| weight(w)).sum::<f32>();
        let (a, b) = (total(&self.concepts), total(&other.concepts));
        let common: f32 = self.concepts.iter().filter(|w| other.concepts.contains(w)).map(|w| weight(w)).sum();
        let words = if a + b > 0.0 { 2.0 * common / (a + b) } else { 0.0 };
        let spelling = gram_dice(&self.grams, &other.grams);
        (0.75 * words + 0.25 * spelling).max(spelling * 0.9)
    }

    pub fn concepts(&self) -> &[String] {
        &self.concepts
    }
}

/// [`Name::similarity`] of two expanded names.
pub fn similarity(source: &[String], target: &[String]) -> f32 {
    Name::new(source).similarity(&Name::new(target))
}

/// The name-only baseline: spelling and raw tokens, no tables, no values, no model.
pub fn raw_name_similarity(source: &str, target: &str) -> f32 {
    let (ts, tt) = (tokens(source), tokens(target));
    0.5 * dice(&ts, &tt) + 0.5 * trigram_similarity(source, target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_identifiers() {
        assert_eq!(tokens("CUST_NO"), ["cust", "no"]);
        assert_eq!(tokens("orderDate"), ["order", "date"]);
        assert_eq!(tokens("HTTPStatusCode"), ["http", "status", "code"]);
        assert_eq!(tokens("Rechnungs-Nr."), ["rechnungs", "nr"]);
        assert_eq!(tokens("NAME1"), ["name1"]);
        assert_eq!(tokens("Währung"), ["wahrung"]);
    }

    #[test]
    fn expands_abbreviations_and_foreign_words() {
        assert_eq!(phrase("CUST_NO"), "customer number");
        assert_eq!(phrase("MATNR"), "material number");
        assert_eq!(phrase("Kundennummer"), "customer number");
        assert_eq!(phrase("Bestelldatum"), "order date");
        assert_eq!(phrase("fecha_pedido"), "date order");
        assert_eq!(phrase("N° de commande"), "number order");
    }

    #[test]
    fn similar_names_score_higher_than_unrelated_ones() {
        let customer = expand("customer_id");
        assert!(similarity(&expand("KUNNR"), &customer) > 0.8);
        assert!(similarity(&expand("CUST_NO"), &customer) > 0.8);
        assert!(similarity(&expand("ERDAT"), &customer) < 0.3);
        assert!(similarity(&expand("Kundennummer"), &customer) > similarity(&expand("Lieferdatum"), &customer));
    }

    #[test]
    fn every_domain_table_reads_and_no_key_means_two_things() {
        let mut seen: HashMap<String, (&str, Vec<String>)> = HashMap::new();
        for (file, text) in BUILT_IN {
            for entry in parse(file, text).unwrap() {
                let key = if mixed_case(&entry.key) { entry.key } else { fold(&entry.key) };
                if let Some((other, words)) = seen.insert(key.clone(), (file, entry.words.clone()))
                    && words != entry.words
                {
                    panic!("`{key}` is {words:?} in {other} and {:?} in {file}", entry.words);
                }
            }
        }
        assert!(seen.len() > 500, "{}", seen.len());
    }

    #[test]
    fn domain_shorthand_expands() {
        assert_eq!(phrase("BUKRS"), "company code");
        assert_eq!(phrase("WERKS"), "plant");
        assert_eq!(phrase("MEINS"), "unit of measure");
        assert_eq!(phrase("VBELN"), "sales document number");
        assert_eq!(phrase("dx_date"), "diagnosis date");
        assert_eq!(phrase("ECOG"), "ecog performance status");
        assert_eq!(phrase("acct_ccy"), "account currency");
        assert_eq!(phrase("emp_dept"), "employee department");
        assert_eq!(phrase("hire_dt"), "hire date");
        // Staging prefixes are case-sensitive: `pT` is the pathologic tumor stage, `PT` a patient.
        assert_eq!(phrase("pT"), "pathologic primary tumor stage");
        assert_eq!(phrase("ypN stage"), "pathologic regional lymph nodes stage after neoadjuvant therapy stage");
        assert_eq!(phrase("PT_ID"), "patient id");
        assert_eq!(phrase("pt_age"), "patient age");
        assert_eq!(phrase("Gemeente Naam"), "municipality name");
        // A TNM letter is the category only after its kind.
        assert_eq!(phrase("ajcc_pathologic_n"), "ajcc cancer stage pathologic regional lymph nodes stage");
        assert_eq!(phrase("Clinical M"), "clinical distant metastasis stage");
        assert_eq!(phrase("n_lines"), "n lines");
    }

    #[test]
    fn a_team_file_adds_and_overrides_entries() {
        let team = "# ours\nZZKUNDE\tkey account customer\n\ncust\tcustodian\nFIGOx\t\n";
        let table = Abbreviations::built_in().extended("team.tsv", team).unwrap();
        assert_eq!(table.phrase("ZZKUNDE"), "key account customer");
        assert_eq!(table.phrase("zzkunde_nr"), "key account customer number");
        assert_eq!(table.phrase("CUST"), "custodian");
        assert_eq!(table.phrase("FIGOx stage"), "stage");
        // A key of several words, matched on the name's words as written, the longest first.
        let team = "cust grp\tcustomer segment\ncust grp code\tsegment key\n";
        let table = table.extended("team.tsv", team).unwrap();
        assert_eq!(table.phrase("CUST_GRP"), "customer segment");
        assert_eq!(table.phrase("custGrp_code_2"), "segment key 2");
        assert_eq!(table.phrase("grp_cust"), "group custodian");
        // A team's words split compounds too.
        assert_eq!(table.phrase("custodianname"), "custodian name");
        assert_eq!(Abbreviations::built_in().phrase("CUST"), "customer");
    }

    #[test]
    fn a_malformed_team_file_names_the_line() {
        let table = Abbreviations::built_in();
        for (text, line, reason) in [
            ("ok\tfine\nmatnr material number\n", 2, "no tab between the abbreviation and its words"),
            ("mat  nr\tmaterial number\n", 1, "not a word of a name, or words separated by single spaces"),
            ("mat-nr\tmaterial number\n", 1, "not a word of a name"),
            ("\tmaterial\n", 1, "no abbreviation before the tab"),
            ("# c\nmatnr\tmaterial/number\n", 2, "letters and digits separated by spaces"),
        ] {
            let e = table.extended("team.tsv", text).unwrap_err();
            assert_eq!((e.file.as_str(), e.line), ("team.tsv", line), "{text:?}");
            assert!(e.to_string().contains(reason), "{e}");
            assert!(e.to_string().starts_with(&format!("team.tsv line {line}: ")), "{e}");
        }
    }
}
