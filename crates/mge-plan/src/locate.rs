//! Field paths and where they stand in the source text. Serde reports structural errors itself;
//! the semantic checks name a field path, and these locators turn it into a byte offset.

use std::fmt;

use toml::de::{DeTable, DeValue};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(&'static str),
    Index(usize),
}

/// A path to a value in the plan document, e.g. `phases[0].milestones[1].tasks[2].key`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldPath(pub Vec<Seg>);

impl FieldPath {
    pub fn key(&self, k: &'static str) -> FieldPath {
        let mut p = self.clone();
        p.0.push(Seg::Key(k));
        p
    }

    pub fn index(&self, i: usize) -> FieldPath {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Finds the byte offset of the value at `path`, or of its deepest existing ancestor.
pub(crate) trait Locator {
    fn locate(&self, path: &FieldPath) -> usize;
}

/// Locator over a TOML document, from the spans of `toml`'s own parser.
pub(crate) struct TomlLocator<'i> {
    root: Option<toml::Spanned<DeTable<'i>>>,
}

impl<'i> TomlLocator<'i> {
    pub fn new(text: &'i str) -> Self {
        TomlLocator {
            root: DeTable::parse(text).ok(),
        }
    }
}

impl Locator for TomlLocator<'_> {
    fn locate(&self, path: &FieldPath) -> usize {
        let Some(root) = &self.root else { return 0 };
        let mut best = root.span().start;
        let mut table: Option<&DeTable<'_>> = Some(root.get_ref());
        let mut array: Option<&[toml::Spanned<DeValue<'_>>]> = None;
        for seg in &path.0 {
            let next = match seg {
                Seg::Key(k) => table.and_then(|t| {
                    t.iter()
                        .find(|(key, _)| key.get_ref().as_ref() == *k)
                        .map(|(key, v)| (key.span().start, v))
                }),
                Seg::Index(i) => array.and_then(|a| a.get(*i)).map(|v| (v.span().start, v)),
            };
            let Some((key_start, value)) = next else {
                return best;
            };
            best = match value.get_ref() {
                // Tables (including `[[array.of.tables]]` entries) are best named by their key.
                DeValue::Table(_) | DeValue::Array(_) => key_start,
                _ => value.span().start,
            };
            table = None;
            array = None;
            match value.get_ref() {
                DeValue::Table(t) => table = Some(t),
                DeValue::Array(a) => array = Some(a),
                _ => {}
            }
        }
        best
    }
}

/// Locator over a JSON document: a small scanner that walks objects and arrays by path.
pub(crate) struct JsonLocator<'i> {
    text: &'i [u8],
}

impl<'i> JsonLocator<'i> {
    pub fn new(text: &'i str) -> Self {
        JsonLocator {
            text: text.as_bytes(),
        }
    }

    fn ws(&self, mut pos: usize) -> usize {
        while pos < self.text.len() && self.text[pos].is_ascii_whitespace() {
            pos += 1;
        }
        pos
    }

    /// Reads a string starting at `pos` (which holds `"`); returns its raw content and the offset
    /// after the closing quote.
    fn string(&self, pos: usize) -> Option<(&'i [u8], usize)> {
        if self.text.get(pos) != Some(&b'"') {
            return None;
        }
        let mut i = pos + 1;
        while i < self.text.len() {
            match self.text[i] {
                b'\\' => i += 2,
                b'"' => return Some((&self.text[pos + 1..i], i + 1)),
                _ => i += 1,
            }
        }
        None
    }

    /// Skips one value starting at `pos`; returns the offset after it.
    fn skip_value(&self, pos: usize) -> Option<usize> {
        match self.text.get(pos)? {
            b'"' => self.string(pos).map(|(_, end)| end),
            b'{' | b'[' => {
                let mut depth = 0usize;
                let mut i = pos;
                while i < self.text.len() {
                    match self.text[i] {
                        b'"' => {
                            i = self.string(i)?.1;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(i + 1);
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                None
            }
            _ => {
                let mut i = pos;
                while i < self.text.len() && !matches!(self.text[i], b',' | b'}' | b']') {
                    i += 1;
                }
                Some(i)
            }
        }
    }

    fn member(&self, obj: usize, key: &str) -> Option<usize> {
        let mut pos = self.ws(obj + 1);
        loop {
            let (name, end) = self.string(pos)?;
            pos = self.ws(end);
            if self.text.get(pos) != Some(&b':') {
                return None;
            }
            let value = self.ws(pos + 1);
            if name == key.as_bytes() {
                return Some(value);
            }
            pos = self.ws(self.skip_value(value)?);
            if self.text.get(pos) != Some(&b',') {
                return None;
            }
            pos = self.ws(pos + 1);
        }
    }

    fn element(&self, arr: usize, index: usize) -> Option<usize> {
        let mut pos = self.ws(arr + 1);
        for _ in 0..index {
            pos = self.ws(self.skip_value(pos)?);
            if self.text.get(pos) != Some(&b',') {
                return None;
            }
            pos = self.ws(pos + 1);
        }
        (self.text.get(pos) != Some(&b']')).then_some(pos)
    }
}

impl Locator for JsonLocator<'_> {
    fn locate(&self, path: &FieldPath) -> usize {
        let mut pos = self.ws(0);
        for seg in &path.0 {
            let next = match (seg, self.text.get(pos)) {
                (Seg::Key(k), Some(b'{')) => self.member(pos, k),
                (Seg::Index(i), Some(b'[')) => self.element(pos, *i),
                _ => None,
            };
            match next {
                Some(p) => pos = p,
                None => return pos,
            }
        }
        pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::line_col;

    fn path() -> FieldPath {
        FieldPath::default()
            .key("phases")
            .index(0)
            .key("milestones")
            .index(0)
            .key("tasks")
            .index(1)
            .key("depends_on")
            .index(1)
    }

    #[test]
    fn json_locator_finds_nested_values() {
        let text = "{\n \"name\": \"x\",\n \"phases\": [{\"name\": \"p\", \"milestones\": [\n  {\"tasks\": [{\"key\": \"a\"},\n   {\"key\": \"b\", \"depends_on\": [\"a\", \"zz\"]}]}]}]\n}";
        let offset = JsonLocator::new(text).locate(&path());
        assert_eq!(line_col(text, offset), (5, 37));
        assert_eq!(&text[offset..offset + 4], "\"zz\"");
    }

    #[test]
    fn toml_locator_finds_nested_values() {
        let text = "name = \"x\"\n[[phases]]\nname = \"p\"\n[[phases.milestones]]\nname = \"m\"\n[[phases.milestones.tasks]]\nkey = \"a\"\n[[phases.milestones.tasks]]\nkey = \"b\"\ndepends_on = [\"a\", \"zz\"]\n";
        let offset = TomlLocator::new(text).locate(&path());
        assert_eq!(line_col(text, offset), (10, 20));
        assert_eq!(
            path().to_string(),
            "phases[0].milestones[0].tasks[1].depends_on[1]"
        );
    }
}
