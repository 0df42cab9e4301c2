//! Names as words: identifiers split into tokens, ERP abbreviations and German/French/Spanish
//! header words expanded to English, and a similarity over the result.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// Abbreviations and foreign header words → English words (keys are lowercase, accents folded).
/// SAP field names first (they are single opaque tokens), then common abbreviations, then
/// German, French and Spanish words.
const EXPANSIONS: &[(&str, &str)] = &[
    // SAP
    ("matnr", "material number"),
    ("kunnr", "customer number"),
    ("vbeln", "sales document number"),
    ("erdat", "created date"),
    ("ernam", "created by"),
    ("aedat", "changed date"),
    ("menge", "quantity"),
    ("kwmeng", "order quantity"),
    ("waers", "currency"),
    ("netwr", "net value amount"),
    ("netpr", "net price"),
    ("bukrs", "company code"),
    ("lifnr", "vendor supplier number"),
    ("posnr", "item position number"),
    ("ebeln", "purchase order number"),
    ("ebelp", "purchase order item"),
    ("bstnk", "customer purchase order number"),
    ("bstkd", "customer purchase order number"),
    ("meins", "unit of measure"),
    ("vrkme", "sales unit"),
    ("werks", "plant"),
    ("lgort", "storage location"),
    ("audat", "document date"),
    ("bldat", "document date"),
    ("budat", "posting date"),
    ("belnr", "document number"),
    ("gjahr", "fiscal year"),
    ("dmbtr", "amount local currency"),
    ("wrbtr", "amount"),
    ("kostl", "cost center"),
    ("hkont", "general ledger account"),
    ("saknr", "general ledger account"),
    ("maktx", "material description"),
    ("matkl", "material group"),
    ("brgew", "gross weight"),
    ("ntgew", "net weight"),
    ("gewei", "weight unit"),
    ("vkorg", "sales organization"),
    ("vtweg", "distribution channel"),
    ("spart", "division"),
    ("auart", "order type"),
    ("zterm", "payment terms"),
    ("inco1", "incoterms"),
    ("lfdat", "delivery date"),
    ("wadat", "goods issue date"),
    ("name1", "name"),
    ("ort01", "city"),
    ("pstlz", "postal code"),
    ("land1", "country"),
    ("stras", "street"),
    ("telf1", "phone"),
    ("stceg", "vat number"),
    ("mwskz", "tax code"),
    ("ean11", "ean gtin"),
    ("smtp", "email"),
    ("abgru", "rejection reason"),
    ("pernr", "employee number"),
    // abbreviations
    ("cust", "customer"),
    ("cus", "customer"),
    ("custno", "customer number"),
    ("no", "number"),
    ("nr", "number"),
    ("nbr", "number"),
    ("num", "number"),
    ("qty", "quantity"),
    ("qnty", "quantity"),
    ("amt", "amount"),
    ("desc", "description"),
    ("descr", "description"),
    ("dt", "date"),
    ("dte", "date"),
    ("addr", "address"),
    ("tel", "phone"),
    ("ph", "phone"),
    ("telephone", "phone"),
    ("mobile", "phone"),
    ("cty", "city"),
    ("zip", "postal code"),
    ("zipcode", "postal code"),
    ("postcode", "postal code"),
    ("ctry", "country"),
    ("cntry", "country"),
    ("curr", "currency"),
    ("ccy", "currency"),
    ("cur", "currency"),
    ("prc", "price"),
    ("val", "value"),
    ("mat", "material"),
    ("matl", "material"),
    ("prod", "product"),
    ("ord", "order"),
    ("po", "purchase order"),
    ("inv", "invoice"),
    ("dlv", "delivery"),
    ("deliv", "delivery"),
    ("acct", "account"),
    ("acc", "account"),
    ("emp", "employee"),
    ("dept", "department"),
    ("mgr", "manager"),
    ("supp", "supplier"),
    ("vend", "vendor"),
    ("fname", "first name"),
    ("lname", "last name"),
    ("firstname", "first name"),
    ("lastname", "last name"),
    ("surname", "last name"),
    ("dob", "date of birth"),
    ("uom", "unit of measure"),
    ("wt", "weight"),
    ("pct", "percent"),
    ("ref", "reference"),
    ("txn", "transaction"),
    ("trx", "transaction"),
    ("bal", "balance"),
    ("upd", "updated"),
    ("seq", "sequence"),
    ("ln", "line"),
    ("pos", "position"),
    ("itm", "item"),
    ("loc", "location"),
    ("whse", "warehouse"),
    ("wh", "warehouse"),
    ("sku", "product code"),
    ("mail", "email"),
    ("tot", "total"),
    ("stat", "status"),
    ("sts", "status"),
    ("crt", "created"),
    ("cre", "created"),
    ("ts", "timestamp"),
    ("tstamp", "timestamp"),
    ("yr", "year"),
    ("mth", "month"),
    ("org", "organization"),
    ("co", "company"),
    // clinical and claims (CMS, EHR exports, study tables)
    ("pt", "patient"),
    ("pat", "patient"),
    ("bene", "beneficiary"),
    ("mrn", "medical record number"),
    ("ssn", "social security number"),
    ("dx", "diagnosis"),
    ("diag", "diagnosis"),
    ("dgns", "diagnosis"),
    ("prcdr", "procedure"),
    ("proc", "procedure"),
    ("rx", "prescription drug"),
    ("med", "medication"),
    ("meds", "medication"),
    ("ndc", "drug code"),
    ("tx", "treatment"),
    ("hx", "history"),
    ("sx", "symptom"),
    ("dod", "date of death"),
    ("admsn", "admission"),
    ("adm", "admission"),
    ("dschrg", "discharge"),
    ("disch", "discharge"),
    ("los", "length of stay"),
    ("clm", "claim"),
    ("prvdr", "provider"),
    ("prov", "provider"),
    ("physn", "physician"),
    ("phys", "physician"),
    ("npi", "national provider identifier"),
    ("enc", "encounter"),
    ("obs", "observation"),
    ("srvc", "service"),
    ("svc", "service"),
    ("pmt", "payment"),
    ("pymt", "payment"),
    ("cvrg", "coverage"),
    ("cvrage", "coverage"),
    ("cd", "code"),
    ("ident", "identifier"),
    ("ind", "indicator"),
    ("cnt", "count"),
    ("yrs", "years"),
    ("mos", "months"),
    ("thru", "end"),
    ("ht", "height"),
    ("temp", "temperature"),
    ("bp", "blood pressure"),
    ("grd", "grade"),
    ("stg", "stage"),
    ("tumour", "tumor"),
    ("comp", "company"),
    // German
    ("kunde", "customer"),
    ("kunden", "customer"),
    ("nummer", "number"),
    ("artikel", "product item"),
    ("bestellung", "order"),
    ("bestell", "order"),
    ("auftrag", "order"),
    ("auftrags", "order"),
    ("datum", "date"),
    ("preis", "price"),
    ("betrag", "amount"),
    ("wahrung", "currency"),
    ("waehrung", "currency"),
    ("lieferant", "supplier"),
    ("lieferanten", "supplier"),
    ("liefer", "delivery"),
    ("lieferung", "delivery"),
    ("rechnung", "invoice"),
    ("rechnungs", "invoice"),
    ("vorname", "first name"),
    ("nachname", "last name"),
    ("strasse", "street"),
    ("ort", "city"),
    ("stadt", "city"),
    ("plz", "postal code"),
    ("postleitzahl", "postal code"),
    ("land", "country"),
    ("telefon", "phone"),
    ("beschreibung", "description"),
    ("bezeichnung", "description"),
    ("einheit", "unit"),
    ("mengeneinheit", "unit of measure"),
    ("gewicht", "weight"),
    ("steuer", "tax"),
    ("mwst", "vat tax"),
    ("firma", "company"),
    ("geburtsdatum", "date of birth"),
    ("geschlecht", "gender"),
    ("geburts", "birth"),
    ("mitarbeiter", "employee"),
    ("abteilung", "department"),
    ("gehalt", "salary"),
    ("konto", "account"),
    ("brutto", "gross"),
    ("netto", "net"),
    ("gesamt", "total"),
    ("summe", "total"),
    ("anzahl", "quantity"),
    ("erstellt", "created"),
    ("geandert", "changed"),
    ("lager", "warehouse"),
    ("werk", "plant"),
    ("zahlungs", "payment"),
    ("zahlung", "payment"),
    ("bedingung", "terms"),
    ("bedingungen", "terms"),
    ("eintritts", "hire"),
    ("eintritt", "hire"),
    // French
    ("client", "customer"),
    ("numero", "number"),
    ("quantite", "quantity"),
    ("prix", "price"),
    ("montant", "amount"),
    ("devise", "currency"),
    ("fournisseur", "supplier"),
    ("commande", "order"),
    ("facture", "invoice"),
    ("livraison", "delivery"),
    ("nom", "name"),
    ("prenom", "first name"),
    ("adresse", "address"),
    ("rue", "street"),
    ("ville", "city"),
    ("pays", "country"),
    ("courriel", "email"),
    ("libelle", "description"),
    ("unite", "unit"),
    ("poids", "weight"),
    ("taxe", "tax"),
    ("tva", "vat tax"),
    ("statut", "status"),
    ("societe", "company"),
    ("entreprise", "company"),
    ("naissance", "birth"),
    ("sexe", "gender"),
    ("employe", "employee"),
    ("salaire", "salary"),
    ("compte", "account"),
    ("embauche", "hire"),
    ("de", ""),
    ("du", ""),
    ("la", ""),
    ("le", ""),
    // Spanish
    ("cliente", "customer"),
    ("fecha", "date"),
    ("cantidad", "quantity"),
    ("precio", "price"),
    ("importe", "amount"),
    ("monto", "amount"),
    ("moneda", "currency"),
    ("proveedor", "supplier"),
    ("pedido", "order"),
    ("factura", "invoice"),
    ("entrega", "delivery"),
    ("articulo", "product item"),
    ("producto", "product"),
    ("nombre", "name"),
    ("apellido", "last name"),
    ("apellidos", "last name"),
    ("direccion", "address"),
    ("calle", "street"),
    ("ciudad", "city"),
    ("codigo", "code"),
    ("pais", "country"),
    ("telefono", "phone"),
    ("correo", "email"),
    ("descripcion", "description"),
    ("unidad", "unit"),
    ("peso", "weight"),
    ("impuesto", "tax"),
    ("iva", "vat tax"),
    ("estado", "status"),
    ("empresa", "company"),
    ("nacimiento", "birth"),
    ("sexo", "gender"),
    ("empleado", "employee"),
    ("salario", "salary"),
    ("cuenta", "account"),
    ("contratacion", "hire"),
    ("del", ""),
];

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
    ("stop", "end"),
    ("finish", "end"),
    ("begin", "start"),
];

fn expansions() -> &'static HashMap<&'static str, &'static str> {
    static TABLE: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| EXPANSIONS.iter().copied().collect())
}

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

/// Splits an identifier into lowercase tokens: `CUST_NO` → [cust, no], `orderDate` → [order,
/// date], `Rechnungs-Nr.` → [rechnungs, nr]. Letters and digits stay together (`NAME1`), as SAP
/// names need.
pub fn tokens(name: &str) -> Vec<String> {
    let name = name.replace(['°', 'º'], "o ");
    let mut words = Vec::new();
    for part in name.split(|c: char| !c.is_alphanumeric()) {
        let chars: Vec<char> = part.chars().collect();
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
    }
    words
        .into_iter()
        .map(|w| fold(&w))
        .flat_map(|w| w.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

/// A name as English words: tokens, each expanded through the abbreviation table, compounds
/// (`kundennummer`, `custno`) split into known words. Unknown tokens stay as they are.
pub fn expand(name: &str) -> Vec<String> {
    let table = expansions();
    let mut out = Vec::new();
    for token in tokens(name) {
        if let Some(english) = table.get(token.as_str()) {
            out.extend(english.split_whitespace().map(str::to_owned));
        } else if let Some(parts) = split_compound(&token) {
            for p in parts {
                out.extend(table.get(p.as_str()).copied().unwrap_or(p.as_str()).split_whitespace().map(str::to_owned));
            }
        } else {
            out.push(token);
        }
    }
    out
}

/// The expanded name as a phrase, for embedding and for people.
pub fn phrase(name: &str) -> String {
    expand(name).join(" ")
}

/// `kundennummer` → [kunden, nummer]; `bestelldatum` → [bestell, datum]: the split into the
/// fewest known words (table keys or English words the table produces), at least 3 letters each.
fn split_compound(token: &str) -> Option<Vec<String>> {
    static KNOWN: OnceLock<HashSet<String>> = OnceLock::new();
    let known = KNOWN.get_or_init(|| {
        let mut set: HashSet<String> =
            EXPANSIONS.iter().filter(|(k, v)| k.len() >= 3 && !v.is_empty()).map(|(k, _)| k.to_string()).collect();
        set.extend(
            EXPANSIONS.iter().flat_map(|(_, v)| v.split_whitespace()).filter(|w| w.len() >= 3).map(str::to_owned),
        );
        set.extend(
            ["name", "code", "date", "number", "status", "type", "text", "email", "order", "line", "total"]
                .map(String::from),
        );
        set
    });
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
            if known.contains(&word) && best[end].is_none_or(|(c, _)| count + 1 < c) {
                best[end] = Some((count + 1, start));
            }
        }
    }
    let (count, _) = best[n]?;
    if count < 2 {
        return None;
    }
    let mut parts = Vec::new();
    let mut end = n;
    while end > 0 {
        let (_, start) = best[end]?;
        parts.push(chars[start..end].iter().collect());
        end = start;
    }
    parts.reverse();
    Some(parts)
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
}
