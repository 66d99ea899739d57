//! Maps field paths such as `pools[2].fee_bps` to the line and column where they are written in a
//! RON file, so that errors found after parsing can still point at the text. serde and ron do
//! not keep spans for values, hence this small structural scan (it never evaluates anything).

use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok<'a> {
    Open(char),
    Close(char),
    Colon,
    Comma,
    Word(&'a str),
    Str,
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    tok: Tok<'a>,
    line: usize,
    col: usize,
}

fn tokenize(src: &str) -> Vec<Token<'_>> {
    let bytes = src.as_bytes();
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    let mut out = Vec::new();
    // advance over one char, keeping line/col
    let step = |i: &mut usize, line: &mut usize, col: &mut usize| {
        let c = src[*i..].chars().next().unwrap_or('\0');
        if c == '\n' {
            *line += 1;
            *col = 1;
        } else {
            *col += 1;
        }
        *i += c.len_utf8().max(1);
    };
    while i < bytes.len() {
        let c = bytes[i];
        let (l0, c0) = (line, col);
        match c {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    step(&mut i, &mut line, &mut col);
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut depth = 0usize;
                while i < bytes.len() {
                    if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        step(&mut i, &mut line, &mut col);
                    } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        step(&mut i, &mut line, &mut col);
                        if depth == 0 {
                            step(&mut i, &mut line, &mut col);
                            break;
                        }
                    }
                    step(&mut i, &mut line, &mut col);
                }
            }
            b'"' => {
                step(&mut i, &mut line, &mut col);
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        step(&mut i, &mut line, &mut col);
                    }
                    step(&mut i, &mut line, &mut col);
                }
                step(&mut i, &mut line, &mut col);
                out.push(Token { tok: Tok::Str, line: l0, col: c0 });
            }
            b'(' | b'[' | b'{' => {
                out.push(Token { tok: Tok::Open(c as char), line: l0, col: c0 });
                step(&mut i, &mut line, &mut col);
            }
            b')' | b']' | b'}' => {
                out.push(Token { tok: Tok::Close(c as char), line: l0, col: c0 });
                step(&mut i, &mut line, &mut col);
            }
            b':' => {
                out.push(Token { tok: Tok::Colon, line: l0, col: c0 });
                step(&mut i, &mut line, &mut col);
            }
            b',' => {
                out.push(Token { tok: Tok::Comma, line: l0, col: c0 });
                step(&mut i, &mut line, &mut col);
            }
            c if c.is_ascii_whitespace() => step(&mut i, &mut line, &mut col),
            _ => {
                let start = i;
                while i < bytes.len() {
                    let c = bytes[i];
                    if c.is_ascii_whitespace()
                        || b"()[]{}:,\"".contains(&c)
                        || (c == b'/' && matches!(bytes.get(i + 1), Some(b'/' | b'*')))
                    {
                        break;
                    }
                    step(&mut i, &mut line, &mut col);
                }
                if i == start {
                    step(&mut i, &mut line, &mut col);
                    continue;
                }
                out.push(Token { tok: Tok::Word(&src[start..i]), line: l0, col: c0 });
            }
        }
    }
    out
}

/// Positions of every field and element path in a RON document.
#[derive(Debug, Default, Clone)]
pub struct Locations {
    map: BTreeMap<String, (usize, usize)>,
}

impl Locations {
    /// Scans `src`. Malformed input yields whatever was seen before the problem.
    pub fn index(src: &str) -> Self {
        let tokens = tokenize(src);
        let mut loc = Locations::default();
        let mut pos = 0usize;
        let mut scanner = Scanner { tokens: &tokens, loc: &mut loc, depth: 0 };
        scanner.value(&mut pos, String::new());
        loc
    }

    /// Line and column of `path`, or of its nearest written ancestor.
    pub fn find(&self, path: &str) -> (usize, usize) {
        let mut p = path;
        loop {
            if let Some(lc) = self.map.get(p) {
                return *lc;
            }
            match p.rfind(['.', '[']) {
                Some(cut) => p = &p[..cut],
                None => return self.map.get("").copied().unwrap_or((1, 1)),
            }
        }
    }
}

struct Scanner<'t, 'a> {
    tokens: &'t [Token<'a>],
    loc: &'t mut Locations,
    depth: usize,
}

const MAX_DEPTH: usize = 256;

impl Scanner<'_, '_> {
    fn peek(&self, pos: usize) -> Option<Tok<'_>> {
        self.tokens.get(pos).map(|t| t.tok)
    }

    fn record(&mut self, path: &str, pos: usize) {
        if let Some(t) = self.tokens.get(pos) {
            self.loc.map.entry(path.to_string()).or_insert((t.line, t.col));
        }
    }

    fn value(&mut self, pos: &mut usize, path: String) {
        if self.depth > MAX_DEPTH {
            return;
        }
        self.depth += 1;
        self.record(&path, *pos);
        match self.peek(*pos) {
            Some(Tok::Word(_)) if self.peek(*pos + 1) == Some(Tok::Open('(')) => {
                *pos += 1;
                self.group(pos, &path, true);
            }
            Some(Tok::Open(_)) => self.group(pos, &path, false),
            Some(_) => *pos += 1,
            None => {}
        }
        self.depth -= 1;
    }

    /// `( ... )`, `[ ... ]` or `{ ... }` at `pos`. Named groups (`Name(..)`, `Some(..)`) pass
    /// their first element through under the same path.
    fn group(&mut self, pos: &mut usize, path: &str, named: bool) {
        let Some(Tok::Open(open)) = self.peek(*pos) else {
            return;
        };
        *pos += 1;
        let is_struct =
            matches!(self.peek(*pos), Some(Tok::Word(_))) && self.peek(*pos + 1) == Some(Tok::Colon) && open != '[';
        let mut index = 0usize;
        loop {
            match self.peek(*pos) {
                None => return,
                Some(Tok::Close(_)) => {
                    *pos += 1;
                    return;
                }
                Some(Tok::Comma) => *pos += 1,
                Some(Tok::Word(name)) if is_struct && self.peek(*pos + 1) == Some(Tok::Colon) => {
                    let child = if path.is_empty() { name.to_string() } else { format!("{path}.{name}") };
                    self.record(&child, *pos);
                    *pos += 2;
                    self.value(pos, child);
                }
                Some(Tok::Str) if open == '{' && self.peek(*pos + 1) == Some(Tok::Colon) => {
                    *pos += 2;
                    let child = format!("{path}[{index}]");
                    self.value(pos, child);
                    index += 1;
                }
                Some(_) => {
                    let child = if named && index == 0 { path.to_string() } else { format!("{path}[{index}]") };
                    let before = *pos;
                    self.value(pos, child);
                    if *pos == before {
                        *pos += 1; // never stall on a stray token
                    }
                    index += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_fields_elements_and_variants() {
        let src = r#"World( // a comment with ( and "
    name: "x",
    pools: [
        ConstantProduct(name: "a", fee_bps: 30.0),
        /* block
           comment */ Weighted(
            name: "b",
            weights: [0.5, 0.5],
        ),
    ],
    agents: [Arbitrageur((name: "arb", capital: [("ETH", "1")]))],
    jumps: Some((mean: 0.1)),
)"#;
        let loc = Locations::index(src);
        assert_eq!(loc.find("name"), (2, 5));
        assert_eq!(loc.find("pools[0].fee_bps"), (4, 36));
        assert_eq!(loc.find("pools[1].weights[1]"), (8, 28));
        assert_eq!(loc.find("agents[0].capital[0][1]"), (11, 58));
        assert_eq!(loc.find("jumps.mean"), (12, 18));
        // unknown paths fall back to their nearest ancestor
        assert_eq!(loc.find("pools[1].nonexistent"), (6, 23));
    }

    #[test]
    fn survives_garbage() {
        for src in ["", "(((((", ")))", "World(a: [1, 2", "\"unterminated", "/* open"] {
            let _ = Locations::index(src).find("a[0]");
        }
    }
}
