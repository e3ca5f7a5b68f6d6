//! A small regular-expression matcher for `subjectPattern` (ingress-nginx's
//! `auth-tls-match-cn`): a Thompson NFA simulated as a Pike VM, so matching takes time linear
//! in the text (no backtracking, whatever the pattern), over bytes.
//!
//! Why not a crate: regex-lite, the smallest well-kept engine, added 68 KB to the module
//! (1,109,087 -> 1,177,207 bytes, measured with this attribute in place); this file adds
//! a few KB. Bytes are enough: the text searched is a subject printed as nginx prints it, which
//! is printable ASCII (every other byte is written as a `\XX` escape), so a pattern with other
//! characters could never match and is refused.
//!
//! The syntax, a subset of PCRE's (nginx's engine) with the same meaning: literals; `.` (any
//! byte but a newline); classes `[a-z]`, `[^,]`, with ranges and `\d \w \s` inside; the escapes
//! `\d \D \w \W \s \S` (ASCII), `\t \n \r` and `\` before any punctuation; `*`, `+`, `?`,
//! `{m}`, `{m,}`, `{m,n}` (m, n up to 100; a lazy `?` after them is accepted and changes
//! nothing for a yes/no match); `|`; groups `(...)` and `(?:...)`; `^` and `$`. A `{` that does
//! not start a repetition is a literal, as in PCRE. Everything else PCRE has (other escapes
//! such as `\b`, flags, look-around, back-references, POSIX classes, possessive quantifiers)
//! is refused with the reason, never read as something else.

use std::fmt;

/// How deeply groups may nest.
const MAX_NESTING: usize = 32;
/// The largest `m` or `n` of `{m,n}`.
const MAX_REPEAT: u32 = 100;
/// The largest compiled program, in instructions: bounds the memory and time of a match.
const MAX_PROGRAM: usize = 10_000;
/// The longest pattern, in bytes.
const MAX_PATTERN: usize = 4096;

/// A set of bytes, one bit each.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
struct Set([u32; 8]);

impl Set {
    fn add(&mut self, b: u8) {
        self.0[usize::from(b >> 5)] |= 1 << (b & 31);
    }
    fn add_range(&mut self, lo: u8, hi: u8) {
        for b in lo..=hi {
            self.add(b);
        }
    }
    fn union(&mut self, other: &Set) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
    }
    fn negate(&mut self) {
        for a in self.0.iter_mut() {
            *a = !*a;
        }
    }
    fn has(&self, b: u8) -> bool {
        self.0[usize::from(b >> 5)] & (1 << (b & 31)) != 0
    }
    fn byte(b: u8) -> Set {
        let mut s = Set::default();
        s.add(b);
        s
    }
}

enum Node {
    Empty,
    Set(Set),
    Start,
    End,
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
    },
}

#[derive(Clone, PartialEq, Eq)]
enum Inst {
    Set(Set),
    Split(usize, usize),
    Jmp(usize),
    Start,
    End,
    Match,
}

/// A compiled pattern.
#[derive(Clone)]
pub struct Pattern {
    source: String,
    program: Vec<Inst>,
    /// Every match starts at the text's start and ends at its end or before a `,`.
    anchored: bool,
    /// Distinct for every pattern compiled in the process: what a certificate's facts
    /// remember its result under ([`crate::cert::CertFacts::pattern_match`]).
    id: usize,
}

/// Two patterns are the same when written the same (the program follows from the source).
impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.source == other.source
    }
}

impl Eq for Pattern {}

/// The pattern as written: what it compiles to says nothing more to a reader.
impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.source)
    }
}

/// Why a pattern was refused, with the byte offset where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// Where, a byte offset into the pattern.
    pub at: usize,
    /// What, in words.
    pub problem: &'static str,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at offset {})", self.problem, self.at)
    }
}

impl Node {
    fn starts_anchored(&self) -> bool {
        match self {
            Node::Start => true,
            Node::Concat(items) => items
                .iter()
                .find(|n| !matches!(n, Node::Concat(v) if v.is_empty()))
                .is_some_and(Node::starts_anchored),
            Node::Alt(branches) => branches.iter().all(Node::starts_anchored),
            Node::Repeat { node, min, .. } => *min >= 1 && node.starts_anchored(),
            _ => false,
        }
    }

    fn ends_closed(&self) -> bool {
        match self {
            Node::End => true,
            Node::Set(set) => *set == Set::byte(b','),
            Node::Concat(items) => items
                .iter()
                .rev()
                .find(|n| !matches!(n, Node::Concat(v) if v.is_empty()))
                .is_some_and(Node::ends_closed),
            Node::Alt(branches) => branches.iter().all(Node::ends_closed),
            Node::Repeat { node, min, .. } => *min >= 1 && node.ends_closed(),
            _ => false,
        }
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
    depth: usize,
}

fn digit() -> Set {
    let mut s = Set::default();
    s.add_range(b'0', b'9');
    s
}
fn word() -> Set {
    let mut s = digit();
    s.add_range(b'a', b'z');
    s.add_range(b'A', b'Z');
    s.add(b'_');
    s
}
fn space() -> Set {
    let mut s = Set::default();
    for b in [b' ', b'\t', b'\n', b'\r', 0x0b, 0x0c] {
        s.add(b);
    }
    s
}

impl Parser<'_> {
    fn err<T>(&self, problem: &'static str) -> Result<T, PatternError> {
        Err(PatternError {
            at: self.at,
            problem,
        })
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn alternation(&mut self) -> Result<Node, PatternError> {
        let mut branches = vec![self.concat()?];
        while self.peek() == Some(b'|') {
            self.at += 1;
            branches.push(self.concat()?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alt(branches)
        })
    }

    fn concat(&mut self) -> Result<Node, PatternError> {
        let mut items = Vec::new();
        while let Some(b) = self.peek() {
            if b == b'|' || b == b')' {
                break;
            }
            let atom = self.atom()?;
            items.push(self.quantified(atom)?);
        }
        Ok(Node::Concat(items))
    }

    fn atom(&mut self) -> Result<Node, PatternError> {
        let Some(b) = self.peek() else {
            return self.err("unexpected end");
        };
        self.at += 1;
        Ok(match b {
            b'(' => {
                if self.peek() == Some(b'?') {
                    if self.bytes.get(self.at + 1) != Some(&b':') {
                        return self.err(
                            "only (?:...) groups are supported (no flags, names or look-around)",
                        );
                    }
                    self.at += 2;
                }
                self.depth += 1;
                if self.depth > MAX_NESTING {
                    return self.err("groups nest too deeply");
                }
                let inner = self.alternation()?;
                self.depth -= 1;
                if self.peek() != Some(b')') {
                    return self.err("unclosed group: '(' without ')'");
                }
                self.at += 1;
                inner
            }
            b')' => return self.err("unmatched ')'"),
            b'[' => Node::Set(self.class()?),
            b'.' => {
                let mut s = Set::byte(b'\n');
                s.negate();
                Node::Set(s)
            }
            b'^' => Node::Start,
            b'$' => Node::End,
            b'\\' => Node::Set(self.escape(false)?),
            b'*' | b'+' | b'?' => return self.err("a repetition with nothing to repeat"),
            b'{' if self.repetition_at(self.at - 1).is_some() => {
                return self.err("a repetition with nothing to repeat");
            }
            b if b.is_ascii_graphic() || b == b' ' => Node::Set(Set::byte(b)),
            _ => {
                self.at -= 1;
                return self.err(
                    "only printable ASCII can match a subject as nginx prints it (write other \
                     bytes as nginx does, \\\\C3\\\\A9 for é)",
                );
            }
        })
    }

    /// `{m}`, `{m,}` or `{m,n}` starting at `at`: the bounds and the offset after `}`.
    fn repetition_at(&self, at: usize) -> Option<(u32, Option<u32>, usize)> {
        let rest = self.bytes.get(at..)?;
        let end = rest.iter().position(|&b| b == b'}')?;
        let inner = std::str::from_utf8(rest.get(1..end)?).ok()?;
        let number = |s: &str| -> Option<u32> {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        let (min, max) = match inner.split_once(',') {
            None => {
                let n = number(inner)?;
                (n, Some(n))
            }
            Some((m, "")) => (number(m)?, None),
            Some((m, n)) => (number(m)?, Some(number(n)?)),
        };
        Some((min, max, at + end + 1))
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, PatternError> {
        let mut node = atom;
        loop {
            let (min, max) = match self.peek() {
                Some(b'*') => {
                    self.at += 1;
                    (0, None)
                }
                Some(b'+') => {
                    self.at += 1;
                    (1, None)
                }
                Some(b'?') => {
                    self.at += 1;
                    (0, Some(1))
                }
                Some(b'{') => match self.repetition_at(self.at) {
                    Some((min, max, next)) => {
                        if min > MAX_REPEAT || max.is_some_and(|n| n > MAX_REPEAT) {
                            return self.err("a repetition count above 100");
                        }
                        if max.is_some_and(|n| n < min) {
                            return self.err("a repetition {m,n} with n below m");
                        }
                        self.at = next;
                        (min, max)
                    }
                    None => return Ok(node),
                },
                _ => return Ok(node),
            };
            if matches!(node, Node::Start | Node::End) {
                return self.err("a repetition of an anchor");
            }
            match self.peek() {
                Some(b'?') => self.at += 1, // lazy: the same yes/no answer
                Some(b'+') => return self.err("possessive repetitions are not supported"),
                _ => {}
            }
            // `a{2}{3}` and `a**` alike: a repetition must be grouped to be repeated, which also
            // keeps the tree as shallow as the groups (compiling it recurses).
            let chained = match self.peek() {
                Some(b'*' | b'+' | b'?') => true,
                Some(b'{') => self.repetition_at(self.at).is_some(),
                _ => false,
            };
            if chained {
                return self.err("a repetition of a repetition (group it: (a{2}){3})");
            }
            node = Node::Repeat {
                node: Box::new(node),
                min,
                max,
            };
        }
    }

    /// After a `\`; `in_class` inside `[...]`.
    fn escape(&mut self, in_class: bool) -> Result<Set, PatternError> {
        let Some(b) = self.peek() else {
            return self.err("a '\\' at the end");
        };
        self.at += 1;
        let negated = |mut s: Set| {
            s.negate();
            s
        };
        Ok(match b {
            b'd' => digit(),
            b'D' => negated(digit()),
            b'w' => word(),
            b'W' => negated(word()),
            b's' => space(),
            b'S' => negated(space()),
            b't' => Set::byte(b'\t'),
            b'n' => Set::byte(b'\n'),
            b'r' => Set::byte(b'\r'),
            b if b.is_ascii_punctuation() || b == b' ' => Set::byte(b),
            _ => {
                self.at -= 1;
                return if in_class {
                    self.err("an escape not supported inside [...]")
                } else {
                    self.err(
                        "an escape not supported here (only \\d \\D \\w \\W \\s \\S \\t \\n \\r \
                         and \\ before punctuation)",
                    )
                };
            }
        })
    }

    /// After `[`, up to and including `]`.
    fn class(&mut self) -> Result<Set, PatternError> {
        let mut set = Set::default();
        let negate = self.peek() == Some(b'^');
        if negate {
            self.at += 1;
        }
        let mut first = true;
        loop {
            let Some(b) = self.peek() else {
                return self.err("unclosed class: '[' without ']'");
            };
            if b == b']' && !first {
                self.at += 1;
                break;
            }
            first = false;
            if b == b'[' && self.bytes.get(self.at + 1) == Some(&b':') {
                return self.err("POSIX classes ([:alpha:]) are not supported");
            }
            // One item: a byte, an escape, or a range.
            let lo = self.class_byte()?;
            let ranged = self.peek() == Some(b'-')
                && self.bytes.get(self.at + 1).is_some_and(|&n| n != b']');
            match (lo, ranged) {
                (Item::Byte(lo), true) => {
                    self.at += 1;
                    match self.class_byte()? {
                        Item::Byte(hi) if hi >= lo => set.add_range(lo, hi),
                        Item::Byte(_) => return self.err("a range [z-a] out of order"),
                        Item::Set(_) => return self.err("a range ending in a class escape"),
                    }
                }
                (Item::Byte(b), false) => set.add(b),
                (Item::Set(s), _) => set.union(&s),
            }
        }
        if negate {
            set.negate();
        }
        Ok(set)
    }

    fn class_byte(&mut self) -> Result<Item, PatternError> {
        let Some(b) = self.peek() else {
            return self.err("unclosed class: '[' without ']'");
        };
        if !(b.is_ascii_graphic() || b == b' ') {
            return self.err("only printable ASCII can match a subject as nginx prints it");
        }
        self.at += 1;
        if b != b'\\' {
            return Ok(Item::Byte(b));
        }
        let set = self.escape(true)?;
        let single: Vec<u8> = (0..=255u8).filter(|c| set.has(*c)).collect();
        Ok(match single.as_slice() {
            [one] => Item::Byte(*one),
            _ => Item::Set(set),
        })
    }
}

enum Item {
    Byte(u8),
    Set(Set),
}

struct Compiler {
    program: Vec<Inst>,
}

impl Compiler {
    fn emit(&mut self, inst: Inst) -> Result<usize, PatternError> {
        if self.program.len() >= MAX_PROGRAM {
            return Err(PatternError {
                at: 0,
                problem: "the pattern is too large once its repetitions are expanded",
            });
        }
        self.program.push(inst);
        Ok(self.program.len() - 1)
    }

    fn patch(&mut self, at: usize, inst: Inst) {
        if let Some(slot) = self.program.get_mut(at) {
            *slot = inst;
        }
    }

    fn node(&mut self, node: &Node) -> Result<(), PatternError> {
        match node {
            Node::Empty => {}
            Node::Set(s) => {
                self.emit(Inst::Set(*s))?;
            }
            Node::Start => {
                self.emit(Inst::Start)?;
            }
            Node::End => {
                self.emit(Inst::End)?;
            }
            Node::Concat(items) => {
                for item in items {
                    self.node(item)?;
                }
            }
            Node::Alt(branches) => {
                let mut jumps = Vec::new();
                for (i, branch) in branches.iter().enumerate() {
                    if i + 1 == branches.len() {
                        self.node(branch)?;
                    } else {
                        let split = self.emit(Inst::Split(0, 0))?;
                        self.node(branch)?;
                        jumps.push(self.emit(Inst::Jmp(0))?);
                        let next = self.program.len();
                        self.patch(split, Inst::Split(split + 1, next));
                    }
                }
                let end = self.program.len();
                for jump in jumps {
                    self.patch(jump, Inst::Jmp(end));
                }
            }
            Node::Repeat { node, min, max } => {
                for _ in 0..*min {
                    self.node(node)?;
                }
                match max {
                    None => {
                        let split = self.emit(Inst::Split(0, 0))?;
                        self.node(node)?;
                        self.emit(Inst::Jmp(split))?;
                        let end = self.program.len();
                        self.patch(split, Inst::Split(split + 1, end));
                    }
                    Some(max) => {
                        let mut splits = Vec::new();
                        for _ in *min..*max {
                            splits.push(self.emit(Inst::Split(0, 0))?);
                            self.node(node)?;
                        }
                        let end = self.program.len();
                        for split in splits {
                            self.patch(split, Inst::Split(split + 1, end));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

impl Pattern {
    /// Parses and compiles `source`.
    pub fn compile(source: &str) -> Result<Pattern, PatternError> {
        if source.len() > MAX_PATTERN {
            return Err(PatternError {
                at: MAX_PATTERN,
                problem: "the pattern is longer than 4096 bytes",
            });
        }
        let mut parser = Parser {
            bytes: source.as_bytes(),
            at: 0,
            depth: 0,
        };
        let node = parser.alternation()?;
        if parser.at < source.len() {
            return parser.err("unmatched ')'");
        }
        let mut compiler = Compiler {
            program: Vec::new(),
        };
        compiler.node(&node)?;
        compiler.emit(Inst::Match)?;
        static NEXT_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        Ok(Pattern {
            source: source.to_string(),
            program: compiler.program,
            anchored: node.starts_anchored() && node.ends_closed(),
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        })
    }

    /// This pattern's process-wide id.
    pub fn id(&self) -> usize {
        self.id
    }

    /// Whether every match starts at the start of the text (`^`) and ends at its end (`$`) or
    /// at a `,` (the end of an RDN in a printed DN). An unanchored pattern such as `CN=alice`
    /// admits `CN=alice-evil` and `CN=mallory,OU=CN=alice`: `lint` warns.
    pub fn is_anchored(&self) -> bool {
        self.anchored
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether it matches anywhere in `text` (unanchored, as nginx's `~`). Time is linear in
    /// the text's length times the program's.
    pub fn is_match(&self, text: &str) -> bool {
        let text = text.as_bytes();
        let n = self.program.len();
        // `mark[pc]` is the generation of the list `pc` was last added to (position + 1).
        let mut mark = vec![0usize; n];
        let mut current: Vec<usize> = Vec::with_capacity(n);
        let mut next: Vec<usize> = Vec::with_capacity(n);
        let mut stack: Vec<usize> = Vec::new();
        for pos in 0..=text.len() {
            // Unanchored: a thread starts at every position.
            if self.add(&mut current, &mut mark, &mut stack, 0, pos, text.len()) {
                return true;
            }
            let Some(&byte) = text.get(pos) else { break };
            for &pc in &current {
                if let Some(Inst::Set(set)) = self.program.get(pc)
                    && set.has(byte)
                    && self.add(
                        &mut next,
                        &mut mark,
                        &mut stack,
                        pc + 1,
                        pos + 1,
                        text.len(),
                    )
                {
                    return true;
                }
            }
            std::mem::swap(&mut current, &mut next);
            next.clear();
        }
        false
    }

    /// Adds `pc` and what it reaches without consuming a byte to `list` (the threads at `pos`);
    /// true when that reaches the match.
    fn add(
        &self,
        list: &mut Vec<usize>,
        mark: &mut [usize],
        stack: &mut Vec<usize>,
        pc: usize,
        pos: usize,
        len: usize,
    ) -> bool {
        let generation = pos + 1;
        stack.clear();
        stack.push(pc);
        while let Some(pc) = stack.pop() {
            match mark.get_mut(pc) {
                Some(m) if *m != generation => *m = generation,
                _ => continue,
            }
            match self.program.get(pc) {
                Some(Inst::Match) => return true,
                Some(Inst::Set(_)) => list.push(pc),
                Some(Inst::Jmp(to)) => stack.push(*to),
                Some(Inst::Split(a, b)) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                Some(Inst::Start) if pos == 0 => stack.push(pc + 1),
                Some(Inst::End) if pos == len => stack.push(pc + 1),
                _ => {}
            }
        }
        false
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        Pattern::compile(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
            .is_match(text)
    }

    /// The behaviour of PCRE (nginx's `~`) on the same pattern and text, case by case.
    #[test]
    fn patterns_match_as_pcre_does() {
        let table: &[(&str, &str, bool)] = &[
            // Unanchored: the trap ingress-nginx users fall into.
            ("CN=alice", "CN=alice", true),
            ("CN=alice", "CN=alice-evil,O=x", true),
            ("CN=alice", "O=x,CN=alice", true),
            ("^CN=alice$", "CN=alice-evil", false),
            ("^CN=alice(,|$)", "CN=alice,O=Contoso", true),
            ("^CN=alice(,|$)", "CN=alice-evil", false),
            ("CN=(a|b|c)", "CN=b,O=x", true),
            ("CN=(a|b|c)$", "CN=d", false),
            ("^CN=(?:a|bc)$", "CN=bc", true),
            ("", "anything", true),
            ("a|", "zzz", true),
            // Classes, escapes, dot.
            ("CN=[a-c]+,", "CN=cab,O", true),
            ("CN=[^,]*evil", "CN=x,evil", false),
            ("CN=[^,]*evil", "CN=xevil", true),
            ("[]x]", "]", true),
            ("[a-]", "-", true),
            ("[\\d.]+$", "1.2.3", true),
            ("\\d\\d", "a1b2", false),
            ("\\w+@\\w+\\.test", "emailAddress=a@b.test", true),
            ("\\W", "abc_9", false),
            ("\\s", "a b", true),
            ("\\S+", "   ", false),
            ("a.c", "abc", true),
            ("a.c", "a\nc", false),
            ("CN=x\\,y", "CN=x,y", true),
            ("\\\\2C", "CN=a\\2C", true),
            // Repetitions.
            ("^a{3}$", "aaa", true),
            ("^a{3}$", "aa", false),
            ("^a{2,}$", "aaaa", true),
            ("^a{2,3}$", "aaaa", false),
            ("^(ab){1,2}$", "abab", true),
            ("^a*?b+?c??$", "aabbc", true),
            ("a{", "a{", true),
            ("a{x}", "a{x}", true),
            ("a{1,x}", "a{1,x}", true),
            ("^(a*)*$", "aaaa", true),
            ("^(a|aa)+$", "aaaaaaa", true),
            ("^(a?){5}a{5}$", "aaaaa", true),
            // Anchors in the middle.
            ("a^b", "ab", false),
            ("a$|^b", "b", true),
        ];
        for (pattern, text, expected) in table {
            assert_eq!(matches(pattern, text), *expected, "{pattern:?} on {text:?}");
        }
    }

    #[test]
    fn what_is_not_supported_is_refused_never_misread() {
        let table: &[(&str, &str, usize)] = &[
            ("(a", "unclosed group: '(' without ')'", 2),
            ("a)", "unmatched ')'", 1),
            ("[a", "unclosed class: '[' without ']'", 2),
            ("*a", "a repetition with nothing to repeat", 1),
            (
                "a**",
                "a repetition of a repetition (group it: (a{2}){3})",
                2,
            ),
            (
                "a{2}{3}",
                "a repetition of a repetition (group it: (a{2}){3})",
                4,
            ),
            ("a*+", "possessive repetitions are not supported", 2),
            ("{2}", "a repetition with nothing to repeat", 1),
            ("a{101}", "a repetition count above 100", 1),
            ("a{3,2}", "a repetition {m,n} with n below m", 1),
            ("^*", "a repetition of an anchor", 2),
            (
                "\\bCN",
                "an escape not supported here (only \\d \\D \\w \\W \\s \\S \\t \\n \\r and \\ before punctuation)",
                1,
            ),
            ("[\\b]", "an escape not supported inside [...]", 2),
            (
                "(?i)cn=a",
                "only (?:...) groups are supported (no flags, names or look-around)",
                1,
            ),
            ("[z-a]", "a range [z-a] out of order", 4),
            ("[a-\\d]", "a range ending in a class escape", 5),
            (
                "[[:alpha:]]",
                "POSIX classes ([:alpha:]) are not supported",
                1,
            ),
            ("a\\", "a '\\' at the end", 2),
        ];
        for (pattern, problem, at) in table {
            let e = Pattern::compile(pattern).unwrap_err();
            assert_eq!((e.problem, e.at), (*problem, *at), "{pattern:?}");
        }
        let e = Pattern::compile("CN=José").unwrap_err();
        assert!(e.problem.starts_with("only printable ASCII"), "{e}");
        assert_eq!(e.at, 6);
        let nested = format!("{}a{}", "(".repeat(40), ")".repeat(40));
        assert_eq!(
            Pattern::compile(&nested).unwrap_err().problem,
            "groups nest too deeply"
        );
        let chained = format!("a{}", "{1}".repeat(5000));
        assert_eq!(
            Pattern::compile(&chained).unwrap_err().problem,
            "the pattern is longer than 4096 bytes"
        );
        let huge = "(a{100}){100}";
        assert_eq!(
            Pattern::compile(huge).unwrap_err().problem,
            "the pattern is too large once its repetitions are expanded"
        );
    }

    #[test]
    fn only_patterns_bound_at_both_ends_are_anchored() {
        let table = [
            ("CN=alice", false),
            ("^CN=alice", false),
            ("CN=alice$", false),
            ("^CN=alice$", true),
            ("^CN=alice,", true),
            ("^CN=alice(,|$)", true),
            ("^CN=alice(?:,|$)", true),
            ("^CN=(a|b|c)$", true),
            ("^CN=(a|b|c)", false),
            ("^CN=a$|CN=b$", false),
            ("(^CN=a$|^CN=b,)", true),
            ("^CN=a.*", false),
            ("^CN=a,?", false),
            ("", false),
        ];
        for (pattern, anchored) in table {
            assert_eq!(
                Pattern::compile(pattern).unwrap().is_anchored(),
                anchored,
                "{pattern:?}"
            );
        }
    }

    /// A pattern that makes a backtracking engine take exponential time is linear here.
    #[test]
    fn matching_is_linear_in_the_text() {
        let evil = Pattern::compile("^(a|a)*(a|a)*(a|a)*b$").unwrap();
        let text = "a".repeat(10_000);
        assert!(!evil.is_match(&text));
    }
}
