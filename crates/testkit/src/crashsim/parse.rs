//! Parsing the text `strace -f -xx` writes into calls with typed arguments.
//!
//! With `-xx` every byte of every string is printed as `\xNN`, so strings
//! never contain quotes, commas or brackets of their own and the argument
//! list splits on its top-level commas.

use std::collections::HashMap;

/// One completed (or abandoned) system call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    /// Line of the log where the call's result appears (1-based).
    pub line: usize,
    pub pid: u32,
    pub name: String,
    /// The argument text, parsed on demand with [`parse_args`].
    pub args: String,
    pub ret: Ret,
}

/// What a call returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ret {
    Ok(i64),
    /// `-1 EXXX (...)`: the call failed and changed nothing.
    Failed,
    /// `?`: the call never returned (the thread or process ended in it).
    Unknown,
}

/// One argument.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Str(Vec<u8>),
    Int(i64),
    /// Anything else printed bare: flag sets, constants, `NULL`.
    Word(String),
    Array(Vec<Arg>),
    Struct(Vec<(String, Arg)>),
}

impl Arg {
    pub fn int(&self) -> Result<i64, String> {
        match self {
            Arg::Int(v) => Ok(*v),
            other => Err(format!("expected a number, got {other:?}")),
        }
    }

    pub fn bytes(&self) -> Result<&[u8], String> {
        match self {
            Arg::Str(v) => Ok(v),
            other => Err(format!("expected a string, got {other:?}")),
        }
    }

    /// The text of a bare word (flags such as `O_WRONLY|O_CREAT`).
    pub fn word(&self) -> &str {
        match self {
            Arg::Word(w) => w,
            _ => "",
        }
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.word().split('|').any(|f| f == flag)
    }
}

/// Splits a whole log into calls, joining the two halves strace prints
/// when another thread's call comes between a call's start and its end.
/// Signal and exit lines are skipped.
pub(crate) fn calls(log: &str) -> Result<Vec<Call>, String> {
    let mut out = Vec::new();
    let mut pending: HashMap<u32, (usize, String)> = HashMap::new();
    for (i, raw) in log.lines().enumerate() {
        let line_no = i + 1;
        let (pid, text) = split_pid(raw);
        let text = text.trim_start();
        if text.is_empty() || text.starts_with("---") || text.starts_with("+++") {
            continue;
        }
        let full = if let Some(head) = text.strip_suffix("<unfinished ...>") {
            pending.insert(pid, (line_no, head.trim_end().to_string()));
            continue;
        } else if let Some(rest) = text.strip_prefix("<... ") {
            let (_, tail) = rest
                .split_once(" resumed>")
                .ok_or_else(|| format!("line {line_no}: bad resumed line"))?;
            let (_, head) = pending
                .remove(&pid)
                .ok_or_else(|| format!("line {line_no}: resumed call never started"))?;
            // strace ends the first half after a comma or the opening
            // parenthesis, so the halves join as they are.
            format!("{head}{tail}")
        } else {
            text.to_string()
        };
        out.push(split_call(&full, pid, line_no)?);
    }
    // Calls still unfinished at the end never returned.
    let mut rest: Vec<(u32, (usize, String))> = pending.into_iter().collect();
    rest.sort_by_key(|(_, (l, _))| *l);
    for (pid, (line, head)) in rest {
        let name = head.split('(').next().unwrap_or("").to_string();
        out.push(Call {
            line,
            pid,
            name,
            args: String::new(),
            ret: Ret::Unknown,
        });
    }
    Ok(out)
}

fn split_pid(raw: &str) -> (u32, &str) {
    let digits = raw.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && raw[digits..].starts_with(' ') {
        (raw[..digits].parse().unwrap_or(0), &raw[digits..])
    } else {
        (0, raw)
    }
}

fn split_call(full: &str, pid: u32, line: usize) -> Result<Call, String> {
    let err = |what: &str| format!("line {line}: {what}: {full}");
    let open = full.find('(').ok_or_else(|| err("no argument list"))?;
    let name = full[..open].to_string();
    // strace pads the result to a column: `close(3)      = 0`.
    let body = &full[open + 1..];
    let (args, ret) = body
        .rmatch_indices("= ")
        .find_map(|(i, _)| {
            let head = body[..i].trim_end();
            head.strip_suffix(')').map(|a| (a, &body[i + 2..]))
        })
        .ok_or_else(|| err("no result"))?;
    let ret = ret.trim();
    let ret = if ret.starts_with('?') {
        Ret::Unknown
    } else if ret.starts_with("-1 ") {
        Ret::Failed
    } else {
        let num = ret.split_whitespace().next().unwrap_or("");
        let v = if let Some(h) = num.strip_prefix("0x") {
            i64::from_str_radix(h, 16).ok()
        } else {
            num.parse().ok()
        };
        Ret::Ok(v.ok_or_else(|| err("bad result"))?)
    };
    Ok(Call {
        line,
        pid,
        name,
        args: args.to_string(),
        ret,
    })
}

/// Parses an argument list (the text between the call's parentheses).
pub(crate) fn parse_args(text: &str) -> Result<Vec<Arg>, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.list(None)?;
    if p.i != p.s.len() {
        return Err(format!("trailing text in arguments: {text}"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    /// Comma-separated values up to `close` (or the end of the text).
    fn list(&mut self, close: Option<u8>) -> Result<Vec<Arg>, String> {
        let mut out = Vec::new();
        loop {
            self.skip_spaces();
            if self.peek() == close {
                return Ok(out);
            }
            out.push(self.value()?);
            self.skip_spaces();
            match self.peek() {
                Some(b',') => self.i += 1,
                c if c == close => return Ok(out),
                _ => return Err(self.error("expected ','")),
            }
        }
    }

    fn value(&mut self) -> Result<Arg, String> {
        let v = match self.peek() {
            Some(b'"') => Arg::Str(self.string()?),
            Some(b'[') => {
                self.i += 1;
                let v = self.list(Some(b']'))?;
                self.i += 1;
                Arg::Array(v)
            }
            Some(b'{') => {
                self.i += 1;
                let mut fields = Vec::new();
                for a in self.list(Some(b'}'))? {
                    match a {
                        Arg::Struct(mut f) if f.len() == 1 => fields.push(f.remove(0)),
                        other => fields.push((String::new(), other)),
                    }
                }
                self.i += 1;
                Arg::Struct(fields)
            }
            _ => self.word()?,
        };
        // `"..."...` marks a string strace cut short: the data is incomplete.
        if self.s[self.i..].starts_with(b"...") {
            return Err(self.error("truncated value (raise strace -s)"));
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<Vec<u8>, String> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') if self.s.get(self.i + 1) == Some(&b'x') => {
                    let hex =
                        std::str::from_utf8(self.s.get(self.i + 2..self.i + 4).unwrap_or(&[]))
                            .map_err(|_| self.error("bad escape"))?;
                    out.push(u8::from_str_radix(hex, 16).map_err(|_| self.error("bad escape"))?);
                    self.i += 4;
                }
                Some(c) if c != b'\\' => {
                    out.push(c);
                    self.i += 1;
                }
                _ => return Err(self.error("bad string")),
            }
        }
    }

    /// A bare token; `name=value` inside a struct becomes a one-field struct.
    fn word(&mut self) -> Result<Arg, String> {
        let start = self.i;
        while let Some(c) = self.peek() {
            if matches!(c, b',' | b']' | b'}' | b'=') {
                break;
            }
            self.i += 1;
        }
        let w = std::str::from_utf8(&self.s[start..self.i])
            .map_err(|_| self.error("not UTF-8"))?
            .trim()
            .to_string();
        if self.peek() == Some(b'=') {
            self.i += 1;
            let v = self.value()?;
            return Ok(Arg::Struct(vec![(w, v)]));
        }
        if w.is_empty() {
            return Err(self.error("empty value"));
        }
        Ok(match w.parse::<i64>() {
            Ok(n) if !(w.len() > 1 && w.starts_with('0')) => Arg::Int(n),
            _ => Arg::Word(w),
        })
    }

    fn error(&self, what: &str) -> String {
        let s = String::from_utf8_lossy(self.s);
        format!("{what} at byte {} of arguments: {s}", self.i)
    }
}
