use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, UtcOffset};

/// A UTC instant written with a fixed width (microseconds, `Z`), so that its text sorts like the
/// instant itself: DynamoDB range keys and the newest-first job listing depend on that.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

const FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

impl Timestamp {
    pub fn now() -> Self {
        Self(OffsetDateTime::now_utc())
    }

    pub fn from_unix(seconds: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp(seconds).ok().map(Self)
    }

    pub fn unix(&self) -> i64 {
        self.0.unix_timestamp()
    }

    pub fn plus(&self, duration: std::time::Duration) -> Self {
        Self(self.0 + Duration::try_from(duration).unwrap_or(Duration::MAX))
    }

    pub fn minus(&self, duration: std::time::Duration) -> Self {
        Self(self.0 - Duration::try_from(duration).unwrap_or(Duration::MAX))
    }

    /// Seconds from `earlier` to this instant, with its microseconds (negative if `earlier` is later).
    pub fn seconds_since(&self, earlier: &Timestamp) -> f64 {
        (self.0 - earlier.0).as_seconds_f64()
    }

    pub fn parse(text: &str) -> Option<Self> {
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .ok()
            .map(|t| Self(t.to_offset(UtcOffset::UTC)))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.format(FORMAT).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {text}")))
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::DateTime)))
            .into()
    }
}

impl utoipa::ToSchema for Timestamp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_sorts_like_time() {
        let a = Timestamp::parse("2026-01-02T03:04:05.5Z").unwrap();
        let b = Timestamp::parse("2026-01-02T03:04:05.123456Z").unwrap();
        assert!(b < a);
        assert!(b.to_string() < a.to_string());
        assert_eq!(a.to_string(), "2026-01-02T03:04:05.500000Z");
    }

    #[test]
    fn offsets_are_normalised_to_utc() {
        let t = Timestamp::parse("2026-01-02T05:04:05+02:00").unwrap();
        assert_eq!(t.to_string(), "2026-01-02T03:04:05.000000Z");
    }
}
