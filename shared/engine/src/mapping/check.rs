//! A pass over each template and expression when the context is compiled: every filter, test
//! and function it uses must exist (minijinja only looks them up when a record reaches them,
//! so a misspelt filter would reject every record of an accepted job), and the operators and
//! loops that can grow values are rewritten to their size-checked forms (see `guard`).
//!
//! The pass reads minijinja's own parse of the source (its `unstable_machinery` API) and
//! rewrites the source text by the spans of the nodes, so that minijinja compiles the result
//! as usual: `a ~ b ~ c` → `(a ) | __helix_cat( b , c)` (and so `+` → `__helix_add`, `*` →
//! `__helix_mul`), and `{% for x in items %}` whose body has literal text →
//! `{% for x in (items) | __helix_loop(<bytes of that text>) %}`.

use std::collections::HashSet;

use minijinja::machinery::ast::{self, BinOpKind, CallArg, Expr, Spanned, Stmt};
use minijinja::machinery::{Span, Token};
use minijinja::syntax::SyntaxConfig;

use super::guard;

/// An unknown filter, test or function: where it is in the source (byte offset) and what.
#[derive(Debug, PartialEq, Eq)]
pub struct Problem {
    pub offset: usize,
    pub message: String,
}

/// What the environment defines, asked by name.
pub trait Names {
    fn filter(&mut self, name: &str) -> bool;
    fn test(&mut self, name: &str) -> bool;
    fn function(&mut self, name: &str) -> bool;
}

/// Names a template may call that are not in the environment: the recursive loop, the caller
/// of a `{% call %}` block and a block's parent.
const SPECIAL_CALLS: [&str; 3] = ["loop", "caller", "super"];

/// Operators, filters, tests and lookups one expression may chain. minijinja compiles a chain
/// recursively, one stack frame per link: thousands of links overflow the stack of the thread
/// that compiles the context (a crash, not an error).
pub const MAX_CHAIN: usize = 100;
/// Brackets one expression may nest (minijinja's parser recurses for each).
pub const MAX_NESTING: usize = 32;

/// Checks, before minijinja compiles it, that no expression of `src` chains more than
/// [`MAX_CHAIN`] operators, filters, tests or lookups, or nests more than [`MAX_NESTING`]
/// brackets (the tokenizer does not recurse).
pub fn chain_length(src: &str, expression: bool) -> Result<(), Problem> {
    let mut links = 0;
    let mut nesting = 0usize;
    for token in minijinja::machinery::tokenize(src, expression, SyntaxConfig::default()) {
        // A source that does not tokenize is reported by minijinja.
        let Ok((t, span)) = token else { return Ok(()) };
        match depth_change(&t) {
            1 => nesting += 1,
            -1 => nesting = nesting.saturating_sub(1),
            _ => {}
        }
        if nesting > MAX_NESTING {
            return Err(Problem {
                offset: start(span),
                message: format!(
                    "an expression nests more than {MAX_NESTING} brackets; split it (e.g. with {{% set %}})"
                ),
            });
        }
        match t {
            Token::VariableStart | Token::BlockStart => (links, nesting) = (0, 0),
            Token::Tilde
            | Token::Plus
            | Token::Minus
            | Token::Mul
            | Token::Div
            | Token::FloorDiv
            | Token::Pow
            | Token::Mod
            | Token::Pipe
            | Token::Dot
            | Token::BracketOpen
            | Token::Eq
            | Token::Ne
            | Token::Gt
            | Token::Gte
            | Token::Lt
            | Token::Lte
            | Token::Ident("and" | "or" | "not" | "is" | "if" | "in") => {
                links += 1;
                if links > MAX_CHAIN {
                    return Err(Problem {
                        offset: start(span),
                        message: format!(
                            "an expression chains more than {MAX_CHAIN} operators, filters and lookups; split it (e.g. with {{% set %}})"
                        ),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Checks a template (or, with `expression`, a bare expression) and returns it rewritten with
/// the size guards; `Ok(None)` when it does not parse (minijinja then reports the syntax error).
///
/// `free_text`: the literal text per loop iteration that needs no counting. Every iteration
/// costs fuel, so loops write at most `fuel` iterations' text in all: below `bound / fuel`
/// bytes per iteration they cannot reach the bound, and are left as they are.
pub fn prepare(
    src: &str,
    expression: bool,
    names: &mut dyn Names,
    free_text: usize,
) -> Result<Option<String>, Problem> {
    let parsed = if expression {
        minijinja::machinery::parse_expr(src).map(Tree::Expr)
    } else {
        minijinja::machinery::parse(src, "<template>", SyntaxConfig::default()).map(Tree::Stmt)
    };
    let Ok(tree) = parsed else { return Ok(None) };
    let Ok(tokens) = minijinja::machinery::tokenize(src, expression, SyntaxConfig::default())
        .collect::<Result<Vec<(Token<'_>, Span)>, _>>()
    else {
        return Ok(None);
    };
    let mut w = Walker {
        src,
        tokens,
        edits: Vec::new(),
        declared: HashSet::new(),
        filters: Vec::new(),
        tests: Vec::new(),
        calls: Vec::new(),
        free_text,
    };
    match &tree {
        Tree::Expr(e) => w.expr(e, 0),
        Tree::Stmt(s) => w.stmt(s, 0),
    }
    for (name, offset) in &w.filters {
        if !names.filter(name) {
            return Err(Problem { offset: *offset, message: format!("unknown filter `{name}`") });
        }
    }
    for (name, offset) in &w.tests {
        if !names.test(name) {
            return Err(Problem { offset: *offset, message: format!("unknown test `{name}`") });
        }
    }
    for (name, offset) in &w.calls {
        if !w.declared.contains(name) && !SPECIAL_CALLS.contains(name) && !names.function(name) {
            return Err(Problem { offset: *offset, message: format!("unknown function `{name}`") });
        }
    }
    Ok(Some(apply(src, w.edits)))
}

enum Tree<'a> {
    Expr(Expr<'a>),
    Stmt(Stmt<'a>),
}

/// An insertion (or replacement of `delete` bytes) at a byte offset. At one offset, closing
/// text comes first (inner before outer), then replacements, then opening text (outer first).
struct Edit {
    at: usize,
    delete: usize,
    text: String,
    order: (u8, i64),
}

fn apply(src: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| (e.at, e.order));
    let mut out = String::with_capacity(src.len() + edits.iter().map(|e| e.text.len()).sum::<usize>());
    let mut pos = 0;
    for e in edits {
        out.push_str(&src[pos..e.at]);
        out.push_str(&e.text);
        pos = e.at + e.delete;
    }
    out.push_str(&src[pos..]);
    out
}

struct Walker<'a> {
    src: &'a str,
    tokens: Vec<(Token<'a>, Span)>,
    edits: Vec<Edit>,
    /// Names the template assigns anywhere (variables, loop targets, macros, arguments).
    declared: HashSet<&'a str>,
    filters: Vec<(&'a str, usize)>,
    tests: Vec<(&'a str, usize)>,
    calls: Vec<(&'a str, usize)>,
    free_text: usize,
}

fn start(span: Span) -> usize {
    span.start_offset as usize
}

fn end(span: Span) -> usize {
    span.end_offset as usize
}

fn depth_change(t: &Token<'_>) -> i32 {
    match t {
        Token::ParenOpen | Token::BracketOpen | Token::BraceOpen => 1,
        Token::ParenClose | Token::BracketClose | Token::BraceClose => -1,
        _ => 0,
    }
}

impl<'a> Walker<'a> {
    fn open(&mut self, at: usize, text: String, depth: i64) {
        self.edits.push(Edit { at, delete: 0, text, order: (2, depth) });
    }

    fn close(&mut self, at: usize, text: String, depth: i64) {
        self.edits.push(Edit { at, delete: 0, text, order: (0, -depth) });
    }

    /// Tokens within `[from, to)`, by index.
    fn token_range(&self, from: usize, to: usize) -> std::ops::Range<usize> {
        let first = self.tokens.partition_point(|(_, s)| start(*s) < from);
        let last = self.tokens.partition_point(|(_, s)| start(*s) < to);
        first..last.max(first)
    }

    /// The operator of a binary node: the last token of its kind outside brackets within the
    /// node (operators chain to the left, and the right operand binds tighter).
    fn operator(&self, span: Span, is_op: fn(&Token<'_>) -> bool) -> Option<Span> {
        let mut depth = 0;
        let mut found = None;
        for i in self.token_range(start(span), end(span)) {
            let (t, s) = &self.tokens[i];
            depth += depth_change(t);
            if depth == 0 && is_op(t) {
                found = Some(*s);
            }
        }
        found
    }

    /// The iterable of a `for` statement: from after `in` to before `if`, `recursive` or `%}`.
    fn loop_items(&self, span: Span) -> Option<(usize, usize)> {
        let range = self.token_range(start(span), end(span));
        let mut depth = 0;
        let mut after_in = false;
        let mut from = None;
        let mut to = None;
        for i in range {
            let (t, s) = &self.tokens[i];
            if !after_in {
                depth += depth_change(t);
                after_in = depth == 0 && matches!(t, Token::Ident("in"));
                continue;
            }
            if depth == 0 && matches!(t, Token::Ident("if" | "recursive") | Token::BlockEnd) {
                break;
            }
            depth += depth_change(t);
            from.get_or_insert(start(*s));
            to = Some(end(*s));
        }
        Some((from?, to?))
    }

    fn declare(&mut self, target: &Expr<'a>) {
        match target {
            Expr::Var(v) => {
                self.declared.insert(v.id);
            }
            Expr::Tuple(t) => t.items.iter().for_each(|e| self.declare(e)),
            Expr::List(l) => l.items.iter().for_each(|e| self.declare(e)),
            _ => {}
        }
    }

    fn stmts(&mut self, body: &[Stmt<'a>], depth: i64) {
        for s in body {
            self.stmt(s, depth);
        }
    }

    fn stmt(&mut self, s: &Stmt<'a>, depth: i64) {
        match s {
            Stmt::Template(t) => self.stmts(&t.children, depth),
            Stmt::EmitExpr(e) => self.expr(&e.expr, depth),
            Stmt::ForLoop(f) => {
                self.declare(&f.target);
                self.expr(&f.iter, depth);
                if let Some(e) = &f.filter_expr {
                    self.expr(e, depth);
                }
                self.stmts(&f.body, depth);
                self.stmts(&f.else_body, depth);
                let text = literal_text(&f.body);
                if text > self.free_text
                    && let Some((from, to)) = self.loop_items(f.span())
                {
                    // The loop's wrapping encloses any rewritten operator of the iterable.
                    self.open(from, "(".into(), depth - 1);
                    self.close(to, format!(") | {}({text})", guard::LOOP), depth - 1);
                }
            }
            Stmt::IfCond(c) => {
                self.expr(&c.expr, depth);
                self.stmts(&c.true_body, depth);
                self.stmts(&c.false_body, depth);
            }
            Stmt::WithBlock(w) => {
                for (target, value) in &w.assignments {
                    self.declare(target);
                    self.expr(value, depth);
                }
                self.stmts(&w.body, depth);
            }
            Stmt::Set(set) => {
                self.declare(&set.target);
                self.target(&set.target, depth);
                self.expr(&set.expr, depth);
            }
            Stmt::SetBlock(set) => {
                self.declare(&set.target);
                self.target(&set.target, depth);
                if let Some(f) = &set.filter {
                    self.expr(f, depth);
                }
                self.stmts(&set.body, depth);
            }
            Stmt::AutoEscape(a) => {
                self.expr(&a.enabled, depth);
                self.stmts(&a.body, depth);
            }
            Stmt::FilterBlock(f) => {
                self.expr(&f.filter, depth);
                self.stmts(&f.body, depth);
            }
            Stmt::Block(b) => self.stmts(&b.body, depth),
            Stmt::Extends(e) => self.expr(&e.name, depth),
            Stmt::Include(i) => self.expr(&i.name, depth),
            Stmt::Import(i) => {
                self.declare(&i.name);
                self.expr(&i.expr, depth);
            }
            Stmt::FromImport(i) => {
                self.expr(&i.expr, depth);
                for (name, alias) in &i.names {
                    self.declare(alias.as_ref().unwrap_or(name));
                }
            }
            Stmt::Macro(m) => {
                self.declared.insert(m.name);
                self.macro_decl(m, depth);
            }
            Stmt::CallBlock(c) => {
                self.call(&c.call, depth);
                self.macro_decl(&c.macro_decl, depth);
            }
            Stmt::Do(d) => self.call(&d.call, depth),
            // Raw text, and statements of minijinja features this engine does not enable.
            _ => {}
        }
    }

    fn macro_decl(&mut self, m: &ast::Macro<'a>, depth: i64) {
        for a in &m.args {
            self.declare(a);
        }
        for d in &m.defaults {
            self.expr(d, depth);
        }
        self.stmts(&m.body, depth);
    }

    /// An assignment target: only its subscripts and attribute bases are expressions.
    fn target(&mut self, target: &Expr<'a>, depth: i64) {
        if let Expr::GetAttr(a) = target {
            self.expr(&a.expr, depth);
        }
    }

    fn args(&mut self, args: &[CallArg<'a>], depth: i64) {
        for a in args {
            match a {
                CallArg::Pos(e) | CallArg::Kwarg(_, e) | CallArg::PosSplat(e) | CallArg::KwargSplat(e) => {
                    self.expr(e, depth)
                }
            }
        }
    }

    fn call(&mut self, c: &ast::Call<'a>, depth: i64) {
        if let Expr::Var(v) = &c.expr {
            self.calls.push((v.id, start(v.span())));
        } else {
            self.expr(&c.expr, depth);
        }
        self.args(&c.args, depth);
    }

    fn expr(&mut self, e: &Expr<'a>, depth: i64) {
        match e {
            Expr::Var(_) | Expr::Const(_) => {}
            Expr::Slice(s) => {
                self.expr(&s.expr, depth);
                for part in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    self.expr(part, depth);
                }
            }
            Expr::UnaryOp(u) => self.expr(&u.expr, depth),
            Expr::BinOp(b) => self.binop(b, depth),
            Expr::Compare(c) => {
                self.expr(&c.expr, depth);
                for op in &c.ops {
                    self.expr(&op.expr, depth);
                }
            }
            Expr::IfExpr(i) => {
                self.expr(&i.test_expr, depth);
                self.expr(&i.true_expr, depth);
                if let Some(f) = &i.false_expr {
                    self.expr(f, depth);
                }
            }
            Expr::Filter(f) => {
                self.filters.push((f.name, start(f.span())));
                if let Some(x) = &f.expr {
                    self.expr(x, depth);
                }
                self.args(&f.args, depth);
            }
            Expr::Test(t) => {
                self.tests.push((t.name, start(t.span())));
                self.expr(&t.expr, depth);
                self.args(&t.args, depth);
            }
            Expr::GetAttr(a) => self.expr(&a.expr, depth),
            Expr::GetItem(i) => {
                self.expr(&i.expr, depth);
                self.expr(&i.subscript_expr, depth);
            }
            Expr::Call(c) => self.call(c, depth),
            Expr::List(l) => l.items.iter().for_each(|x| self.expr(x, depth)),
            Expr::Tuple(t) => t.items.iter().for_each(|x| self.expr(x, depth)),
            Expr::Map(m) => {
                for (k, v) in m.keys.iter().zip(&m.values) {
                    self.expr(k, depth);
                    self.expr(v, depth);
                }
            }
        }
    }

    /// A binary operation. A chain of one growing operator (`a ~ b ~ c`, which minijinja parses
    /// as `(a ~ b) ~ c`) becomes one call, `__helix_cat(a , b , c)`: nesting a call per link
    /// would make deep sources of long chains (see [`chain_length`]).
    fn binop(&mut self, b: &Spanned<ast::BinOp<'a>>, depth: i64) {
        let (function, is_op): (&str, fn(&Token<'_>) -> bool) = match b.op {
            BinOpKind::Concat => (guard::CAT, |t| matches!(t, Token::Tilde)),
            BinOpKind::Add => (guard::ADD, |t| matches!(t, Token::Plus)),
            BinOpKind::Mul => (guard::MUL, |t| matches!(t, Token::Mul)),
            _ => {
                self.expr(&b.left, depth);
                self.expr(&b.right, depth);
                return;
            }
        };
        // Numbers only add up and multiply to numbers: nothing to bound.
        if !matches!(b.op, BinOpKind::Concat) && numeric(&b.left) && numeric(&b.right) {
            self.expr(&b.left, depth);
            self.expr(&b.right, depth);
            return;
        }
        let same = |e: &Expr<'_>| {
            std::mem::discriminant(&b.op)
                == match e {
                    Expr::BinOp(l) => std::mem::discriminant(&l.op),
                    _ => return false,
                }
        };
        // The links of the chain, outermost first; a parenthesised left operand starts a
        // chain of its own.
        let mut links = vec![b];
        while let Expr::BinOp(left) = &links[links.len() - 1].left
            && same(&links[links.len() - 1].left)
            && start(left.span()) == start(b.span())
        {
            links.push(left);
        }
        let inner = depth + 1;
        self.expr(&links[links.len() - 1].left, inner);
        let mut operators = Vec::new();
        for link in links.iter().rev() {
            self.expr(&link.right, inner);
            match self.operator(link.span(), is_op) {
                Some(op) => operators.push(op),
                None => {
                    debug_assert!(false, "no operator in {:?}", &self.src[start(link.span())..end(link.span())]);
                    return;
                }
            }
        }
        // `(a) | __helix_cat(b, c)`: a filter, which minijinja looks up once per evaluation
        // (a function is looked up by name at every call).
        for (i, op) in operators.into_iter().enumerate() {
            let text = if i == 0 { format!(") | {function}(") } else { ",".into() };
            self.edits.push(Edit { at: start(op), delete: end(op) - start(op), text, order: (1, 0) });
        }
        self.open(start(b.span()), "(".into(), depth);
        self.close(end(b.span()), ")".into(), depth);
    }
}

/// Whether an expression is a number (or a boolean) whatever the record, or fails: `+` and `*`
/// of such operands cannot make text or lists.
fn numeric(e: &Expr<'_>) -> bool {
    use minijinja::value::ValueKind;
    match e {
        Expr::Const(c) => matches!(c.value.kind(), ValueKind::Number | ValueKind::Bool),
        // `-x`, `x - y`, `x / y`, … are numbers or errors; tests and comparisons are booleans.
        Expr::UnaryOp(_) | Expr::Test(_) | Expr::Compare(_) => true,
        Expr::BinOp(b) => match b.op {
            BinOpKind::Add | BinOpKind::Mul => numeric(&b.left) && numeric(&b.right),
            BinOpKind::Concat | BinOpKind::ScAnd | BinOpKind::ScOr => false,
            _ => true,
        },
        // Filters that give a number (or fail); `int` and `float` only without a default, which
        // could be anything.
        Expr::Filter(f) => match f.name {
            "int" | "float" => f.args.is_empty(),
            "length" | "count" | "abs" | "round" | "decimal" | "wordcount" => true,
            _ => false,
        },
        _ => false,
    }
}

/// Bytes of literal text a loop body writes per iteration: its own and that of the blocks in
/// it, but not of nested loops (they count their own) or macros (their output is counted where
/// it is written).
fn literal_text(body: &[Stmt<'_>]) -> usize {
    body.iter()
        .map(|s| match s {
            Stmt::EmitRaw(r) => r.raw.len(),
            Stmt::IfCond(c) => literal_text(&c.true_body) + literal_text(&c.false_body),
            Stmt::WithBlock(w) => literal_text(&w.body),
            Stmt::SetBlock(s) => literal_text(&s.body),
            Stmt::AutoEscape(a) => literal_text(&a.body),
            Stmt::FilterBlock(f) => literal_text(&f.body),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct All;
    impl Names for All {
        fn filter(&mut self, name: &str) -> bool {
            name != "nosuchfilter"
        }
        fn test(&mut self, name: &str) -> bool {
            name != "nosuchtest"
        }
        fn function(&mut self, name: &str) -> bool {
            name != "nosuchfunction"
        }
    }

    fn rewrite(src: &str, expression: bool) -> String {
        prepare(src, expression, &mut All, 0).unwrap().unwrap()
    }

    #[test]
    fn growing_operators_are_rewritten() {
        assert_eq!(rewrite("a ~ b", true), "(a ) | __helix_cat( b)");
        assert_eq!(rewrite("a ~ b ~ c", true), "(a ) | __helix_cat( b , c)");
        assert_eq!(rewrite("(a ~ b) ~ c", true), "(((a ) | __helix_cat( b)) ) | __helix_cat( c)");
        assert_eq!(rewrite("a ~ (b ~ c)", true), "(a ) | __helix_cat( ((b ) | __helix_cat( c)))");
        assert_eq!(rewrite("(a) ~ (b)", true), "((a) ) | __helix_cat( (b))");
        assert_eq!(rewrite("a ~ b | upper", true), "(a ) | __helix_cat( b | upper)");
        assert_eq!(rewrite("(a ~ b) | upper", true), "((a ) | __helix_cat( b)) | upper");
        assert_eq!(rewrite("x * -y + 2", true), "((x ) | __helix_mul( -y) ) | __helix_add( 2)");
        // Numbers add up and multiply to numbers.
        assert_eq!(rewrite("(x | int) * 2 + -y + (z | length) * 1.5", true), "(x | int) * 2 + -y + (z | length) * 1.5");
        assert_eq!(rewrite("(x | int(y)) * 2", true), "((x | int(y)) ) | __helix_mul( 2)");
        assert_eq!(rewrite("(a and b) * 3", true), "((a and b) ) | __helix_mul( 3)");
        assert_eq!(rewrite("a - b + c ** 2 + d", true), "(a - b ) | __helix_add( c ** 2 , d)");
        assert_eq!(rewrite("a + b - c + d", true), "((a ) | __helix_add( b) - c ) | __helix_add( d)");
        assert_eq!(rewrite("f(a ~ 'x~y', k=[b*2])", true), "f((a ) | __helix_cat( 'x~y'), k=[(b) | __helix_mul(2)])");
        assert_eq!(rewrite("a~b~c", true), "(a) | __helix_cat(b,c)");
        assert_eq!(rewrite("{{ a ~ b }}x", false), "{{ (a ) | __helix_cat( b) }}x");
        assert_eq!(
            rewrite("{% for i in range(3) %}-{% set ns.s = ns.s ~ ns.s %}{% endfor %}", false),
            "{% for i in (range(3)) | __helix_loop(1) %}-{% set ns.s = (ns.s ) | __helix_cat( ns.s) %}{% endfor %}"
        );
        // No literal text in the body: the loop is left as it is.
        assert_eq!(
            rewrite("{% for i in x if i %}{{ i }}{% endfor %}", false),
            "{% for i in x if i %}{{ i }}{% endfor %}"
        );
        assert_eq!(
            rewrite("{% for k, v in (d | items) recursive %}[{{ k }}]{% endfor %}", false),
            "{% for k, v in ((d | items)) | __helix_loop(2) recursive %}[{{ k }}]{% endfor %}"
        );
        assert_eq!(prepare("{{ a ~ }}", false, &mut All, 0), Ok(None));
        // A loop whose text cannot reach the bound within the fuel is left as it is.
        let short = "{% for i in x %}--{% endfor %}";
        assert_eq!(prepare(short, false, &mut All, 2), Ok(Some(short.into())));
        assert_ne!(prepare(short, false, &mut All, 1), Ok(Some(short.into())));
    }

    #[test]
    fn unknown_names_are_found_with_their_offset() {
        let problem = |src: &str| prepare(src, false, &mut All, 0).unwrap_err();
        assert_eq!(
            problem("{{ POS | nosuchfilter }}"),
            Problem { offset: 9, message: "unknown filter `nosuchfilter`".into() }
        );
        assert_eq!(problem("{% if x is nosuchtest %}{% endif %}").offset, 11);
        assert_eq!(problem("{{ nosuchfunction(1) }}").message, "unknown function `nosuchfunction`");
        assert_eq!(problem("{% filter nosuchfilter %}x{% endfilter %}").offset, 10);
        assert_eq!(problem("{% set x | nosuchfilter %}x{% endset %}").offset, 11);
        // Macros, loop targets and the special callables are not unknown functions.
        assert!(
            prepare(
                "{% macro nosuchfunction(f) %}{{ caller() }}{% endmacro %}{{ nosuchfunction(1) }}{% for x in y recursive %}{{ loop(x) }}{% endfor %}",
                false,
                &mut All,
                0
            )
            .is_ok()
        );
    }
}

/// The rewritten templates compute what the originals do: the checked operators and filters
/// are minijinja's own, only bounded.
#[cfg(test)]
mod fidelity {
    use std::collections::HashMap;
    use std::sync::{Arc, RwLock};

    use minijinja::Value;

    use super::*;
    use crate::limits::Limits;
    use crate::mapping::jinja;

    struct Env<'e>(&'e minijinja::Environment<'static>);
    impl Names for Env<'_> {
        fn filter(&mut self, _: &str) -> bool {
            true
        }
        fn test(&mut self, _: &str) -> bool {
            true
        }
        fn function(&mut self, name: &str) -> bool {
            self.0.globals().any(|(n, _)| n == name)
        }
    }

    fn env() -> minijinja::Environment<'static> {
        let limits = Limits::default();
        let lookups = Arc::new(RwLock::new(HashMap::new()));
        jinja::environment(&limits, jinja::value_bound(&limits), Arc::default(), Arc::default(), lookups)
    }

    fn ctx() -> Value {
        minijinja::context! {
            i => 7, j => -3, big => i64::MAX, f => 2.5, t => true, s => "ab", e => "", n => (),
            l => vec![1, 2], m => minijinja::context! { k => "v" }, tu => Value::from(minijinja::value::Tuple::from(vec![Value::from(1), Value::from("x")])),
            safe => Value::from_safe_string("<b>".into()), huge => u64::MAX,
        }
    }

    const OPERANDS: [&str; 17] = [
        "i",
        "j",
        "big",
        "f",
        "t",
        "s",
        "e",
        "n",
        "l",
        "m",
        "tu",
        "safe",
        "huge",
        "2",
        "'c'",
        "missing",
        "(n if false)",
    ];

    fn same(env: &minijinja::Environment<'static>, original: &str, rewritten: &str, render: bool) {
        let run = |src: &str| -> Result<String, String> {
            let out = if render {
                env.render_str(src, ctx()).map(|s| format!("{s:?}"))
            } else {
                env.compile_expression(src).and_then(|e| e.eval(ctx())).map(|v| format!("{:?} {:?}", v.kind(), v))
            };
            out.map_err(|e| e.to_string())
        };
        let (a, b) = (run(original), run(rewritten));
        if std::env::var("SHOW").is_ok() {
            eprintln!("{original}\n  {a:?}\n  {b:?}");
        }
        match (&a, &b) {
            (Ok(x), Ok(y)) => assert_eq!(x, y, "{original} → {rewritten}"),
            (Err(_), Err(_)) => {}
            _ => panic!("{original} → {rewritten}: {a:?} vs {b:?}"),
        }
    }

    #[test]
    fn operators_compute_what_minijinjas_do() {
        let env = env();
        for op in ["~", "+", "*"] {
            for x in OPERANDS {
                for y in OPERANDS {
                    for src in
                        [format!("{x} {op} {y}"), format!("{x} {op} {y} {op} {x}"), format!("({x} {op} {y}) | string")]
                    {
                        let rewritten = prepare(&src, true, &mut Env(&env), 0).unwrap().unwrap();
                        same(&env, &src, &rewritten, false);
                    }
                }
            }
        }
    }

    #[test]
    fn templates_render_what_they_did() {
        let env = env();
        let templates = [
            "{% for x in l %}[{{ loop.index }}/{{ loop.length }}{{ ',' if not loop.last }}{{ loop.revindex }}]{% else %}none{% endfor %}",
            "{% for x in [] %}a{% else %}empty{% endfor %}|{% for k in m %}{{ k }}={{ m[k] }};{% endfor %}",
            "{% for c in s %}<{{ c }}>{% endfor %}{% for k, v in m | items %}{{ k }}:{{ v }}{% endfor %}",
            "{% for x in l if x > 1 %}({{ x }}){% endfor %}{% for x in l recursive %}-{{ x }}{% endfor %}",
            "{% for x in missing %}a{% endfor %}",
            "{% for x in n %}a{% endfor %}",
            "{% set ns = namespace(s='') %}{% for i in range(5) %}{% set ns.s = ns.s ~ i %}{% endfor %}{{ ns.s }}",
            "{% macro m(a, b='d') %}{{ a ~ b }}{% endmacro %}{{ m(s) }}{{ m(1, 2) }}",
            "{% macro w() %}[{{ caller() ~ '!' }}]{% endmacro %}{% call w() %}in{% for i in l %}{{ s ~ i }}{% endfor %}{% endcall %}",
            "{% set x %}{% for i in range(3) %}x{{ i * 2 }}{% endfor %}{% endset %}{{ x | upper }}",
            "{% filter upper %}{% for i in l %}a{{ i + 1 }}{% endfor %}{% endfilter %}",
            "{{ l | join('-') }} {{ l | join(d=',') }} {{ [m, m] | join(', ', attribute='k') }} {{ s | replace('a', 'xyz') }}",
            "{{ '%s-%d-%05.2f' | format(s, i, f) }} {{ 'a\nb' | indent(2, true) }} {{ m | tojson }} {{ l | tojson(indent=2) }}",
            "{{ l | pprint }} {{ l | string }} {{ [[1], [2]] | sum(start=[]) | list }} {{ ['a', 'b'] | sum(start='') }}",
            "{{ l | batch(3, 0) | list }} {{ l | slice(3) | list }} {{ l | chain(l) | list }} {{ safe | e }} {{ s | e }}",
            "{{ s | regex_replace('(a)', '[$1]') }} {{ s | regex_replace('', '-') }} {{ s * 3 }} {{ l * 2 }} {{ tu * 2 }}",
        ];
        for src in templates {
            let rewritten = prepare(src, false, &mut Env(&env), 0).unwrap().unwrap();
            same(&env, src, &rewritten, true);
        }
    }
}
