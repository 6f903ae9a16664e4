//! Glob patterns for rollup job sources and exclusions (Go `path.Match` rules).

// ---------------------------------------------------------------------------------------------
// Globs (Go path.Match syntax)
// ---------------------------------------------------------------------------------------------

/// Checks a path-glob pattern: `*`, `?`, `[...]` classes (`^` negation, `a-z` ranges),
/// `\` escapes. Mirrors Go's `path.Match` `ErrBadPattern` rules.
pub fn validate_glob(pattern: &str) -> Result<(), String> {
    let bad = || format!("syntax error in pattern {pattern:?}");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars.get(i) {
            Some('\\') => {
                if i + 1 >= chars.len() {
                    return Err(bad());
                }
                i += 2;
            }
            Some('[') => {
                i = parse_class(&chars, i + 1).ok_or_else(bad)?.1;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// One class element character; `None` for a bad pattern.
pub(super) fn class_char(chars: &[char], i: usize) -> Option<(char, usize)> {
    match chars.get(i)? {
        '-' | ']' => None,
        '\\' => chars.get(i + 1).map(|c| (*c, i + 2)),
        c => Some((*c, i + 1)),
    }
}

/// Parses a class body starting after `[`; returns (negated, ranges) and the index after `]`.
#[allow(clippy::type_complexity)]
pub(super) fn parse_class(
    chars: &[char],
    mut i: usize,
) -> Option<((bool, Vec<(char, char)>), usize)> {
    let mut negated = false;
    if chars.get(i) == Some(&'^') {
        negated = true;
        i += 1;
    }
    let mut ranges = Vec::new();
    loop {
        if chars.get(i) == Some(&']') && !ranges.is_empty() {
            return Some(((negated, ranges), i + 1));
        }
        let (lo, next) = class_char(chars, i)?;
        i = next;
        let mut hi = lo;
        if chars.get(i) == Some(&'-') {
            let (h, next) = class_char(chars, i + 1)?;
            hi = h;
            i = next;
        }
        ranges.push((lo, hi));
    }
}

/// Go `path.Match`: whether `name` matches `pattern`; `*` and `?` never match `/`.
/// A malformed pattern matches nothing.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    if validate_glob(pattern).is_err() {
        return false;
    }
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = name.chars().collect();
    let mut failed = std::collections::HashSet::new();
    match_here(&p, &s, &mut failed)
}

/// Backtracking matcher over pattern/name suffixes. `failed` memoises suffix pairs (keyed by
/// their remaining lengths) already known not to match, bounding the work to
/// O(|pattern| * |name|) even for patterns with many stars.
pub(super) fn match_here(
    p: &[char],
    s: &[char],
    failed: &mut std::collections::HashSet<(usize, usize)>,
) -> bool {
    if failed.contains(&(p.len(), s.len())) {
        return false;
    }
    let ok = match_step(p, s, failed);
    if !ok {
        failed.insert((p.len(), s.len()));
    }
    ok
}

pub(super) fn match_step(
    p: &[char],
    s: &[char],
    failed: &mut std::collections::HashSet<(usize, usize)>,
) -> bool {
    let Some((&c, p_rest)) = p.split_first() else {
        return s.is_empty();
    };
    match c {
        '*' => {
            let mut k = 0;
            loop {
                if match_here(p_rest, s.get(k..).unwrap_or(&[]), failed) {
                    return true;
                }
                match s.get(k) {
                    Some(&ch) if ch != '/' => k += 1,
                    _ => return false,
                }
            }
        }
        '?' => match s.split_first() {
            Some((&ch, s_rest)) if ch != '/' => match_here(p_rest, s_rest, failed),
            _ => false,
        },
        '[' => {
            let Some(((negated, ranges), next)) = parse_class(p, 1) else {
                return false;
            };
            let Some((&ch, s_rest)) = s.split_first() else {
                return false;
            };
            let hit = ranges.iter().any(|&(lo, hi)| lo <= ch && ch <= hi);
            hit != negated && match_here(p.get(next..).unwrap_or(&[]), s_rest, failed)
        }
        '\\' => match (p_rest.split_first(), s.split_first()) {
            (Some((&pc, p2)), Some((&ch, s_rest))) if pc == ch => match_here(p2, s_rest, failed),
            _ => false,
        },
        _ => match s.split_first() {
            Some((&ch, s_rest)) if ch == c => match_here(p_rest, s_rest, failed),
            _ => false,
        },
    }
}
