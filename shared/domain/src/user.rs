use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Timestamp, UserId};

/// A platform account. Stored keyed by its normalised e-mail, which never changes; `id` is the
/// stable subject of every token and the owner of every job and artifact.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct User {
    pub email: String,
    pub id: UserId,
    pub password_hash: String,
    pub fullname: Option<String>,
    pub phone_number: Option<String>,
    pub web_url: Option<String>,
    #[serde(default)]
    pub is_admin: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What a user may see and change of their own account.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct UserProfile {
    pub id: UserId,
    pub email: String,
    pub fullname: Option<String>,
    pub phone_number: Option<String>,
    pub web_url: Option<String>,
    pub is_admin: bool,
    pub created_at: Timestamp,
}

impl From<&User> for UserProfile {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.clone(),
            email: user.email.clone(),
            fullname: user.fullname.clone(),
            phone_number: user.phone_number.clone(),
            web_url: user.web_url.clone(),
            is_admin: user.is_admin,
            created_at: user.created_at,
        }
    }
}

/// `PUT /users/me`: every field optional; `null` or `""` clears it.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    /// At most 200 characters, no control characters.
    #[serde(default, deserialize_with = "clearable")]
    #[schema(max_length = 200)]
    pub fullname: Option<Option<String>>,
    /// E.164: a `+` and 7 to 15 digits (no leading zero); spaces, dashes, dots and brackets
    /// between them are removed.
    #[serde(default, deserialize_with = "clearable")]
    #[schema(pattern = r"^(\+[ ().-]*[1-9]([ ().-]*[0-9]){6,14}[ ().-]*)?$")]
    pub phone_number: Option<Option<String>>,
    /// An `http://` or `https://` URL with a host, at most 2048 characters.
    #[serde(default, deserialize_with = "clearable")]
    #[schema(max_length = 2048)]
    pub web_url: Option<Option<String>>,
}

/// Distinguishes an absent field (keep) from `null` (clear).
fn clearable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::<String>::deserialize(d)?))
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    pub field: &'static str,
    pub reason: String,
}

impl ValidationError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self { field, reason: reason.into() }
    }
}

/// Every field of one request that failed its check, in the order of the fields, so that a form
/// learns all its mistakes from one answer.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct ValidationErrors(pub Vec<ValidationError>);

pub const MAX_FULLNAME_CHARS: usize = 200;
pub const MAX_URL_CHARS: usize = 2048;

impl ProfileUpdate {
    /// Trims, validates and applies the update; on error nothing is changed.
    pub fn apply_to(self, user: &mut User) -> Result<(), ValidationErrors> {
        let mut errors = Vec::new();
        let mut check = |field, validate: fn(String) -> Result<String, ValidationError>| match normalise(field)?
            .map(validate)
            .transpose()
        {
            Ok(value) => Some(value),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let fullname = check(self.fullname, validate_fullname);
        let phone = check(self.phone_number, validate_phone);
        let web_url = check(self.web_url, validate_web_url);
        if !errors.is_empty() {
            return Err(ValidationErrors(errors));
        }
        if let Some(v) = fullname {
            user.fullname = v;
        }
        if let Some(v) = phone {
            user.phone_number = v;
        }
        if let Some(v) = web_url {
            user.web_url = v;
        }
        Ok(())
    }
}

fn normalise(field: Option<Option<String>>) -> Option<Option<String>> {
    field.map(|v| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()))
}

fn validate_fullname(name: String) -> Result<String, ValidationError> {
    if name.chars().count() > MAX_FULLNAME_CHARS {
        return Err(ValidationError::new("fullname", format!("must be at most {MAX_FULLNAME_CHARS} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(ValidationError::new("fullname", "must not contain control characters"));
    }
    Ok(name)
}

/// E.164-ish: a leading `+`, then 7 to 15 digits; spaces, dashes, dots and brackets are accepted as
/// separators and removed.
fn validate_phone(phone: String) -> Result<String, ValidationError> {
    let reason = "must be an international number such as +41 44 668 18 00 (a '+' and 7 to 15 digits)";
    let Some(rest) = phone.strip_prefix('+') else {
        return Err(ValidationError::new("phone_number", reason));
    };
    if !rest.chars().all(|c| c.is_ascii_digit() || " -.()".contains(c)) {
        return Err(ValidationError::new("phone_number", reason));
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    if !(7..=15).contains(&digits.len()) || digits.starts_with('0') {
        return Err(ValidationError::new("phone_number", reason));
    }
    Ok(format!("+{digits}"))
}

fn validate_web_url(text: String) -> Result<String, ValidationError> {
    if text.len() > MAX_URL_CHARS {
        return Err(ValidationError::new("web_url", format!("must be at most {MAX_URL_CHARS} characters")));
    }
    let parsed =
        url::Url::parse(&text).map_err(|e| ValidationError::new("web_url", format!("is not a valid URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ValidationError::new("web_url", "must be an http:// or https:// URL with a host"));
    }
    Ok(text)
}

pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            email: "a@example.com".into(),
            id: "u1".into(),
            password_hash: String::new(),
            fullname: Some("Ada".into()),
            phone_number: None,
            web_url: None,
            is_admin: false,
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
        }
    }

    fn update(json: &str) -> ProfileUpdate {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn absent_keeps_null_clears() {
        let mut u = user();
        update(r#"{"phone_number": "+41 44 668-18-00"}"#).apply_to(&mut u).unwrap();
        assert_eq!(u.fullname.as_deref(), Some("Ada"));
        assert_eq!(u.phone_number.as_deref(), Some("+41446681800"));
        update(r#"{"fullname": null}"#).apply_to(&mut u).unwrap();
        assert_eq!(u.fullname, None);
    }

    #[test]
    fn rejects_bad_values_and_changes_nothing() {
        let mut u = user();
        let fields = |json: &str, u: &mut User| -> Vec<&'static str> {
            update(json).apply_to(u).unwrap_err().0.iter().map(|e| e.field).collect()
        };
        assert_eq!(fields(r#"{"fullname": "Bob", "web_url": "javascript:alert(1)"}"#, &mut u), ["web_url"]);
        assert_eq!(u.fullname.as_deref(), Some("Ada"));
        assert_eq!(fields(r#"{"phone_number": "0446681800"}"#, &mut u), ["phone_number"]);
        assert_eq!(fields(r#"{"phone_number": "+1 23"}"#, &mut u), ["phone_number"]);
        let long = format!(r#"{{"fullname": "{}"}}"#, "x".repeat(201));
        assert_eq!(fields(&long, &mut u), ["fullname"]);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let mut u = user();
        let long = "x".repeat(201);
        let json = format!(r#"{{"fullname": "{long}", "phone_number": "12345", "web_url": "ftp://example.org"}}"#);
        let errors = update(&json).apply_to(&mut u).unwrap_err();
        assert_eq!(errors.0.iter().map(|e| e.field).collect::<Vec<_>>(), ["fullname", "phone_number", "web_url"]);
        assert!(errors.to_string().starts_with("fullname: must be at most 200 characters; phone_number: "), "{errors}");
        assert_eq!(u.fullname.as_deref(), Some("Ada"), "nothing is applied");
    }

    #[test]
    fn accepts_https_url() {
        let mut u = user();
        update(r#"{"web_url": " https://example.com/me "}"#).apply_to(&mut u).unwrap();
        assert_eq!(u.web_url.as_deref(), Some("https://example.com/me"));
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(serde_json::from_str::<ProfileUpdate>(r#"{"email": "x@y.z"}"#).is_err());
    }
}
