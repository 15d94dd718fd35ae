//! Ember's PromQL syntax tree: what the engine evaluates, independent of the parser.

use ember_model::Matcher;

/// A parsed PromQL expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A number literal.
    Number(f64),
    /// A string literal.
    String(String),
    /// An instant-vector selector such as `up{job="a"} offset 5m`.
    Vector(VectorSelector),
    /// A range-vector selector such as `up[5m]`.
    Matrix(MatrixSelector),
    /// A subquery such as `rate(x[1m])[5m:30s]`.
    Subquery(Subquery),
    /// A function call.
    Call(Call),
    /// An aggregation such as `sum by (job) (x)`.
    Aggregate(Aggregate),
    /// A binary operation.
    Binary(Binary),
    /// Unary minus (unary plus is dropped by the parser).
    Negate(Box<Expr>),
    /// A parenthesised expression.
    Paren(Box<Expr>),
}

/// The type an expression evaluates to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// A single number.
    Scalar,
    /// A string.
    String,
    /// An instant vector.
    Vector,
    /// A range vector.
    Matrix,
}

impl ValueType {
    /// Prometheus's name for the type, as used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::String => "string",
            ValueType::Vector => "instant vector",
            ValueType::Matrix => "range vector",
        }
    }
}

impl Expr {
    /// The type of value the expression produces.
    pub fn value_type(&self) -> ValueType {
        match self {
            Expr::Number(_) => ValueType::Scalar,
            Expr::String(_) => ValueType::String,
            Expr::Vector(_) | Expr::Aggregate(_) => ValueType::Vector,
            Expr::Matrix(_) | Expr::Subquery(_) => ValueType::Matrix,
            Expr::Call(c) => c.return_type,
            Expr::Binary(b) => {
                if b.lhs.value_type() == ValueType::Scalar
                    && b.rhs.value_type() == ValueType::Scalar
                {
                    ValueType::Scalar
                } else {
                    ValueType::Vector
                }
            }
            Expr::Negate(e) | Expr::Paren(e) => e.value_type(),
        }
    }
}

impl Expr {
    /// Visits this expression and every sub-expression, parents first.
    pub fn walk(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Number(_) | Expr::String(_) | Expr::Vector(_) | Expr::Matrix(_) => {}
            Expr::Subquery(sq) => sq.expr.walk(f),
            Expr::Call(c) => c.args.iter().for_each(|a| a.walk(f)),
            Expr::Aggregate(a) => {
                if let Some(p) = &a.param {
                    p.walk(f);
                }
                a.expr.walk(f);
            }
            Expr::Binary(b) => {
                b.lhs.walk(f);
                b.rhs.walk(f);
            }
            Expr::Negate(e) | Expr::Paren(e) => e.walk(f),
        }
    }

    /// Visits this expression and its sub-expressions mutably, parents first; `f` returns
    /// whether to descend into the children of the expression it was given.
    pub fn walk_mut(&mut self, f: &mut impl FnMut(&mut Expr) -> bool) {
        if !f(self) {
            return;
        }
        match self {
            Expr::Number(_) | Expr::String(_) | Expr::Vector(_) | Expr::Matrix(_) => {}
            Expr::Subquery(sq) => sq.expr.walk_mut(f),
            Expr::Call(c) => c.args.iter_mut().for_each(|a| a.walk_mut(f)),
            Expr::Aggregate(a) => {
                if let Some(p) = &mut a.param {
                    p.walk_mut(f);
                }
                a.expr.walk_mut(f);
            }
            Expr::Binary(b) => {
                b.lhs.walk_mut(f);
                b.rhs.walk_mut(f);
            }
            Expr::Negate(e) | Expr::Paren(e) => e.walk_mut(f),
        }
    }
}

/// Where a selector or subquery is anchored with `@`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum At {
    /// `@ <timestamp>`, in milliseconds.
    Timestamp(i64),
    /// `@ start()`: the query's start time.
    Start,
    /// `@ end()`: the query's end time.
    End,
}

/// An instant-vector selector.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorSelector {
    /// The metric name written before the braces (`up` in `up{job="a"}`), if any.
    pub name: Option<String>,
    /// Every matcher, the metric name included as a `__name__` matcher.
    pub matchers: Vec<Matcher>,
    /// `offset`, in milliseconds (negative for `offset -5m`).
    pub offset_ms: i64,
    /// The `@` modifier.
    pub at: Option<At>,
}

/// A range-vector selector.
#[derive(Clone, Debug, PartialEq)]
pub struct MatrixSelector {
    /// The selector with its modifiers.
    pub selector: VectorSelector,
    /// The range, in milliseconds.
    pub range_ms: i64,
}

/// A subquery.
#[derive(Clone, Debug, PartialEq)]
pub struct Subquery {
    /// The inner expression (an instant vector or scalar).
    pub expr: Box<Expr>,
    /// The range, in milliseconds.
    pub range_ms: i64,
    /// The resolution, in milliseconds; `None` uses the engine default.
    pub step_ms: Option<i64>,
    /// `offset`, in milliseconds.
    pub offset_ms: i64,
    /// The `@` modifier.
    pub at: Option<At>,
}

/// A function call.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The function name.
    pub name: String,
    /// The arguments.
    pub args: Vec<Expr>,
    /// The declared parameter types.
    pub arg_types: Vec<ValueType>,
    /// How many more arguments than `arg_types` the function takes, as Prometheus counts:
    /// 0 none, `n` up to `n` optional ones (repeating the last type), negative any number.
    pub variadic: i32,
    /// The declared return type.
    pub return_type: ValueType,
}

/// Aggregation operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggregateOp {
    /// `sum`
    Sum,
    /// `avg`
    Avg,
    /// `min`
    Min,
    /// `max`
    Max,
    /// `count`
    Count,
    /// `group`
    Group,
    /// `stddev`
    Stddev,
    /// `stdvar`
    Stdvar,
    /// `topk`
    Topk,
    /// `bottomk`
    Bottomk,
    /// `quantile`
    Quantile,
    /// `count_values`
    CountValues,
    /// `limitk`
    Limitk,
    /// `limit_ratio`
    LimitRatio,
}

/// Which labels an aggregation keeps.
#[derive(Clone, Debug, PartialEq)]
pub enum Grouping {
    /// `by (…)`: only these labels (no clause is `by ()`).
    By(Vec<String>),
    /// `without (…)`: all labels but these and the metric name.
    Without(Vec<String>),
}

/// An aggregation.
#[derive(Clone, Debug, PartialEq)]
pub struct Aggregate {
    /// The operator.
    pub op: AggregateOp,
    /// The aggregated expression.
    pub expr: Box<Expr>,
    /// The parameter of `topk`, `quantile`, `count_values`, …
    pub param: Option<Box<Expr>>,
    /// The grouping clause.
    pub grouping: Grouping,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^`
    Pow,
    /// `atan2`
    Atan2,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `<`
    Lt,
    /// `>=`
    Ge,
    /// `<=`
    Le,
    /// `and`
    And,
    /// `or`
    Or,
    /// `unless`
    Unless,
}

impl BinaryOp {
    /// True for `== != > < >= <=`.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Gt | BinaryOp::Lt | BinaryOp::Ge | BinaryOp::Le
        )
    }

    /// True for `and or unless`.
    pub fn is_set(self) -> bool {
        matches!(self, BinaryOp::And | BinaryOp::Or | BinaryOp::Unless)
    }
}

/// How the two sides of a vector operation are matched.
#[derive(Clone, Debug, PartialEq)]
pub enum Matching {
    /// `on (…)`: match on exactly these labels.
    On(Vec<String>),
    /// `ignoring (…)` or no clause: match on all labels but these (and the name).
    Ignoring(Vec<String>),
}

/// Match cardinality.
#[derive(Clone, Debug, PartialEq)]
pub enum Cardinality {
    /// One-to-one.
    OneToOne,
    /// `group_left (…)`: many on the left.
    ManyToOne(Vec<String>),
    /// `group_right (…)`: many on the right.
    OneToMany(Vec<String>),
    /// Set operators.
    ManyToMany,
}

/// A binary operation.
#[derive(Clone, Debug, PartialEq)]
pub struct Binary {
    /// The operator.
    pub op: BinaryOp,
    /// Left operand.
    pub lhs: Box<Expr>,
    /// Right operand.
    pub rhs: Box<Expr>,
    /// `bool` on a comparison.
    pub return_bool: bool,
    /// Label matching.
    pub matching: Matching,
    /// Cardinality.
    pub card: Cardinality,
}
