//! Turning a `POST /v1/events` body into validated events without holding it twice.
//!
//! NDJSON is parsed line by line as the body arrives: only the current partial line is
//! buffered, and each line becomes an [`Event`] (or its validation errors) at once, so
//! no `Value` tree of the whole batch ever exists. A JSON body (one object or an array)
//! is read whole, then walked element by element with the same effect. An `Event`
//! keeps its `data` as canonical text, so the batch costs about its own size in memory.

use chrono::{DateTime, Utc};
use serde::de::{DeserializeSeed, IgnoredAny, SeqAccess, Visitor};
use serde_json::{json, Value};

use super::event::{validate, Event, FieldError};

/// The most events one request may carry.
pub const MAX_BATCH: usize = 10_000;

/// Why a body is not a batch of events at all (a 4xx before any validation report).
#[derive(Debug, PartialEq)]
pub enum BodyError {
    /// 400: not JSON, or not an object/array; `details` lists malformed NDJSON lines.
    Malformed {
        message: String,
        details: Vec<Value>,
    },
    /// 400: no events.
    Empty,
    /// 413: more than [`MAX_BATCH`] events (`n` counted).
    TooMany(usize),
}

/// The events of a body, and every validation problem found in them.
#[derive(Debug, Default)]
pub struct Batch {
    pub events: Vec<Event>,
    pub invalid: Vec<FieldError>,
}

/// Validates items as they are parsed; past [`MAX_BATCH`] it only counts.
struct Collector {
    now: DateTime<Utc>,
    items: usize,
    batch: Batch,
}

impl Collector {
    fn new(now: DateTime<Utc>) -> Self {
        Collector {
            now,
            items: 0,
            batch: Batch::default(),
        }
    }

    fn push(&mut self, item: &Value) {
        let index = self.items;
        self.items += 1;
        if self.items > MAX_BATCH {
            return;
        }
        match validate(index, item, self.now) {
            Ok(e) => self.batch.events.push(e),
            Err(errs) => self.batch.invalid.extend(errs),
        }
    }

    fn finish(self) -> Result<Batch, BodyError> {
        match self.items {
            0 => Err(BodyError::Empty),
            n if n > MAX_BATCH => Err(BodyError::TooMany(n)),
            _ => Ok(self.batch),
        }
    }
}

/// An NDJSON body fed chunk by chunk (`application/x-ndjson`: one event per line; blank
/// lines are skipped, a trailing `\r` is ignored).
pub struct NdjsonParser {
    collector: Collector,
    /// The unfinished last line of the chunks so far.
    pending: Vec<u8>,
    line_no: usize,
    malformed: Vec<Value>,
}

impl NdjsonParser {
    pub fn new(now: DateTime<Utc>) -> Self {
        NdjsonParser {
            collector: Collector::new(now),
            pending: Vec::new(),
            line_no: 0,
            malformed: Vec::new(),
        }
    }

    pub fn feed(&mut self, mut chunk: &[u8]) {
        while let Some(nl) = chunk.iter().position(|&b| b == b'\n') {
            let (line, rest) = chunk.split_at(nl);
            if self.pending.is_empty() {
                self.line(line);
            } else {
                let mut whole = std::mem::take(&mut self.pending);
                whole.extend_from_slice(line);
                self.line(&whole);
            }
            chunk = &rest[1..];
        }
        self.pending.extend_from_slice(chunk);
    }

    fn line(&mut self, line: &[u8]) {
        self.line_no += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        // Lines past the limit are only counted (a 413 follows), not parsed.
        if self.collector.items + self.malformed.len() >= MAX_BATCH {
            self.collector.items += 1;
            return;
        }
        let parsed = std::str::from_utf8(line)
            .map_err(|_| "the line is not UTF-8".to_string())
            .and_then(|text| serde_json::from_str::<Value>(text).map_err(|e| e.to_string()));
        match parsed {
            Ok(v) => self.collector.push(&v),
            Err(message) => self.malformed.push(json!({
                "index": self.collector.items + self.malformed.len(),
                "line": self.line_no,
                "field": "",
                "message": message,
            })),
        }
    }

    pub fn finish(mut self) -> Result<Batch, BodyError> {
        if !self.pending.is_empty() {
            let last = std::mem::take(&mut self.pending);
            self.line(&last);
        }
        if !self.malformed.is_empty() {
            return Err(BodyError::Malformed {
                message: "malformed NDJSON".into(),
                details: self.malformed,
            });
        }
        self.collector.finish()
    }
}

/// A JSON body: one event object, or an array of them.
pub fn parse_json(body: &[u8], now: DateTime<Utc>) -> Result<Batch, BodyError> {
    let shape = || BodyError::Malformed {
        message: "body must be an event object or an array of events".into(),
        details: vec![],
    };
    let malformed = |e: serde_json::Error| BodyError::Malformed {
        message: format!("malformed JSON: {e}"),
        details: vec![],
    };
    let mut collector = Collector::new(now);
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => {
            let mut de = serde_json::Deserializer::from_slice(body);
            Items(&mut collector)
                .deserialize(&mut de)
                .and_then(|()| de.end())
                .map_err(malformed)?;
        }
        Some(b'{') => {
            let v: Value = serde_json::from_slice(body).map_err(malformed)?;
            collector.push(&v);
        }
        _ => {
            // Valid JSON of another shape, or not JSON at all.
            serde_json::from_slice::<IgnoredAny>(body).map_err(malformed)?;
            return Err(shape());
        }
    }
    collector.finish()
}

/// Walks a JSON array, validating each element as soon as it is parsed.
struct Items<'a>(&'a mut Collector);

impl<'de> DeserializeSeed<'de> for Items<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Items<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of events")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            if self.0.items >= MAX_BATCH {
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    return Ok(());
                }
                self.0.items += 1;
            } else {
                match seq.next_element::<Value>()? {
                    Some(v) => self.0.push(&v),
                    None => return Ok(()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-10-10T00:00:00Z".parse().unwrap()
    }

    fn line(i: usize) -> String {
        format!(
            r#"{{"event_id":"e{i}","type":"order.paid","shop_id":"s","occurred_at":"2026-10-01T00:00:00Z","data":{{"order_id":"o{i}"}}}}"#
        )
    }

    #[test]
    fn ndjson_split_anywhere_gives_the_same_events() {
        let body = format!("{}\r\n\n{}\n{}", line(0), line(1), line(2));
        for size in [1, 2, 7, 50, body.len()] {
            let mut p = NdjsonParser::new(now());
            for chunk in body.as_bytes().chunks(size) {
                p.feed(chunk);
            }
            let b = p.finish().unwrap();
            let ids: Vec<_> = b.events.iter().map(|e| e.event_id.as_str()).collect();
            assert_eq!(ids, ["e0", "e1", "e2"], "chunks of {size}");
            assert!(b.invalid.is_empty());
        }
    }

    #[test]
    fn ndjson_reports_malformed_lines_with_their_numbers() {
        let mut p = NdjsonParser::new(now());
        p.feed(format!("{}\n\nnot json\n{}\n", line(0), line(1)).as_bytes());
        p.feed(b"\xff\xfe\n");
        let Err(BodyError::Malformed { details, .. }) = p.finish() else {
            panic!("expected malformed");
        };
        assert_eq!(details.len(), 2);
        assert_eq!(
            (details[0]["index"].clone(), details[0]["line"].clone()),
            (json!(1), json!(3))
        );
        assert_eq!(details[1]["line"], 5);
        assert_eq!(details[1]["message"], "the line is not UTF-8");
    }

    #[test]
    fn too_many_and_empty() {
        let body: String = (0..MAX_BATCH + 2).map(|i| line(i) + "\n").collect();
        let mut p = NdjsonParser::new(now());
        p.feed(body.as_bytes());
        assert_eq!(p.finish().unwrap_err(), BodyError::TooMany(MAX_BATCH + 2));
        let arr = format!(
            "[{}]",
            (0..MAX_BATCH + 1).map(line).collect::<Vec<_>>().join(",")
        );
        assert_eq!(
            parse_json(arr.as_bytes(), now()).unwrap_err(),
            BodyError::TooMany(MAX_BATCH + 1)
        );
        assert_eq!(
            NdjsonParser::new(now()).finish().unwrap_err(),
            BodyError::Empty
        );
        assert_eq!(parse_json(b" [ ] ", now()).unwrap_err(), BodyError::Empty);
    }

    #[test]
    fn json_object_array_and_wrong_shapes() {
        assert_eq!(
            parse_json(line(0).as_bytes(), now()).unwrap().events.len(),
            1
        );
        let arr = format!("[{}, 5, {}]", line(0), line(1));
        let b = parse_json(arr.as_bytes(), now()).unwrap();
        assert_eq!(b.events.len(), 2);
        assert_eq!((b.invalid.len(), b.invalid[0].index), (1, 1));
        let message = |body: &[u8]| match parse_json(body, now()) {
            Err(BodyError::Malformed { message, .. }) => message,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            message(b"42"),
            "body must be an event object or an array of events"
        );
        assert!(message(b"{\"event_id\": ").starts_with("malformed JSON"));
        assert!(message(b"[1] x").starts_with("malformed JSON"));
    }
}
