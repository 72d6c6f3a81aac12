//! Sigma conditions: `and`, `or`, `not`, parentheses, search identifiers,
//! `1 of x*`, `all of x*`, `1 of them`, `all of them`. Parsed once into an
//! expression over the rule's searches (by index).

/// Deepest nesting of parentheses and `not` accepted in a condition. The parser,
/// the evaluator and the compiler's walks recurse once per level, so this bounds
/// their stack use (a rule file with 100,000 `(` once overflowed the stack and
/// aborted the process); real Sigma conditions nest two or three levels.
pub(crate) const MAX_CONDITION_DEPTH: usize = 32;

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// The search with this index.
    Search(usize),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

/// Parses `text` against the rule's search names (in detection order).
pub(crate) fn parse(text: &str, names: &[String]) -> Result<Expr, String> {
    let tokens = tokenize(text)?;
    let mut p = Parser {
        tokens,
        at: 0,
        names,
        depth: 0,
    };
    let e = p.or()?;
    match p.tokens.get(p.at) {
        None => Ok(e),
        Some(t) => Err(format!("unexpected `{t}` in condition `{text}`")),
    }
}

fn tokenize(text: &str) -> Result<Vec<String>, String> {
    if text.contains('|') {
        return Err(
            "aggregation conditions (`| count() ...`) are not supported: write a correlation rule"
                .to_owned(),
        );
    }
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c == '(' || c == ')' || c.is_whitespace() {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    if out.is_empty() {
        return Err("empty condition".to_owned());
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<String>,
    at: usize,
    names: &'a [String],
    /// Open parentheses and `not`s around the current position.
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn next(&mut self) -> Option<String> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&self, k: &str) -> bool {
        self.peek().is_some_and(|t| t.eq_ignore_ascii_case(k))
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut parts = vec![self.and()?];
        while self.keyword("or") {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut parts = vec![self.not()?];
        while self.keyword("and") {
            self.at += 1;
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    /// Enters one more level of nesting, or refuses past [`MAX_CONDITION_DEPTH`].
    fn deeper(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_CONDITION_DEPTH {
            return Err(format!(
                "condition nests deeper than {MAX_CONDITION_DEPTH} levels of parentheses and `not`"
            ));
        }
        Ok(())
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.keyword("not") {
            self.at += 1;
            self.deeper()?;
            let e = Expr::Not(Box::new(self.not()?));
            self.depth -= 1;
            return Ok(e);
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, String> {
        let Some(t) = self.next() else {
            return Err("condition ends too early".to_owned());
        };
        if t == "(" {
            self.deeper()?;
            let e = self.or()?;
            self.depth -= 1;
            return match self.next().as_deref() {
                Some(")") => Ok(e),
                _ => Err("missing `)` in condition".to_owned()),
            };
        }
        if t == ")" {
            return Err("unexpected `)` in condition".to_owned());
        }
        let quantifier = match t.to_ascii_lowercase().as_str() {
            "1" | "any" => Some(false),
            "all" => Some(true),
            _ => None,
        };
        if let Some(all) = quantifier {
            if self.keyword("of") {
                self.at += 1;
                let Some(target) = self.next() else {
                    return Err(format!("`{t} of` needs a pattern or `them`"));
                };
                return self.of(all, &target);
            }
        }
        if ["and", "or", "of"]
            .iter()
            .any(|k| t.eq_ignore_ascii_case(k))
        {
            return Err(format!("unexpected `{t}` in condition"));
        }
        match self.names.iter().position(|n| *n == t) {
            Some(i) => Ok(Expr::Search(i)),
            None => Err(format!(
                "condition names `{t}`, which is not a search of the rule"
            )),
        }
    }

    fn of(&self, all: bool, target: &str) -> Result<Expr, String> {
        let picked: Vec<Expr> = if target.eq_ignore_ascii_case("them") {
            self.names
                .iter()
                .enumerate()
                .filter(|(_, n)| !n.starts_with('_'))
                .map(|(i, _)| Expr::Search(i))
                .collect()
        } else {
            let g = super::matcher::Glob::new(target);
            self.names
                .iter()
                .enumerate()
                .filter(|(_, n)| g.matches(n))
                .map(|(i, _)| Expr::Search(i))
                .collect()
        };
        if picked.is_empty() {
            return Err(format!("`{target}` matches no search of the rule"));
        }
        Ok(if all {
            Expr::And(picked)
        } else {
            Expr::Or(picked)
        })
    }
}

impl Expr {
    /// Evaluates with `search(i)` giving each search's result (called lazily).
    pub(crate) fn eval(&self, search: &mut impl FnMut(usize) -> bool) -> bool {
        match self {
            Expr::Search(i) => search(*i),
            Expr::And(v) => v.iter().all(|e| e.eval(search)),
            Expr::Or(v) => v.iter().any(|e| e.eval(search)),
            Expr::Not(e) => !e.eval(search),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        ["selection", "sel_a", "sel_b", "filter", "_private"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    }

    fn eval(cond: &str, truth: &[bool]) -> Result<bool, String> {
        let e = parse(cond, &names())?;
        Ok(e.eval(&mut |i| truth[i]))
    }

    #[test]
    fn conditions_follow_precedence_parentheses_and_quantifiers() {
        // selection, sel_a, sel_b, filter, _private
        let t = [true, false, true, true, true];
        let n = MAX_CONDITION_DEPTH / 2;
        let at_the_limit = format!(
            "{}{}selection{}",
            "not ".repeat(n),
            "(".repeat(n),
            ")".repeat(n)
        );
        let cases: &[(&str, bool)] = &[
            ("selection", true),
            ("selection and not filter", false),
            ("selection and filter or sel_a", true),
            ("sel_a or sel_b and not filter", false),
            ("(sel_a or sel_b) and not filter", false),
            ("(sel_a or sel_b) and selection", true),
            ("1 of sel_*", true),
            ("all of sel_*", false),
            ("1 of them", true),
            ("all of them", false),
            ("not not selection", true),
            (&at_the_limit, true),
            ("any of sel_* AND selection", true),
        ];
        for (c, want) in cases {
            assert_eq!(eval(c, &t), Ok(*want), "{c}");
        }
        // `them` leaves out searches whose names start with `_`.
        let t = [true, true, true, true, false];
        assert_eq!(eval("all of them", &t), Ok(true));
    }

    #[test]
    fn bad_conditions_are_errors_with_the_reason() {
        let n = MAX_CONDITION_DEPTH + 1;
        let deep_parens = format!("{}selection{}", "(".repeat(n), ")".repeat(n));
        let deep_nots = format!("{}selection", "not ".repeat(n));
        let cases: &[(&str, &str)] = &[
            ("selection and", "ends too early"),
            ("(selection", "missing `)`"),
            ("selection )", "unexpected `)`"),
            ("nosuch", "not a search"),
            ("1 of zzz*", "matches no search"),
            ("selection | count() > 5", "correlation rule"),
            ("", "empty condition"),
            ("selection selection", "unexpected `selection`"),
            (&deep_parens, "deeper than 32 levels"),
            (&deep_nots, "deeper than 32 levels"),
        ];
        for (c, want) in cases {
            match parse(c, &names()) {
                Ok(e) => panic!("{c} parsed as {e:?}"),
                Err(msg) => assert!(msg.contains(want), "{c}: {msg}"),
            }
        }
    }
}
