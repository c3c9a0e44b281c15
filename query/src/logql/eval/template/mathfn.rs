//! The sprig math functions (`add`, `subf`, `round`, ...): arguments convert loosely (strings parse,
//! failures are zero); the `f` variants compute on decimal values like sprig does, so
//! `addf 0.1 0.2` is `0.3`.

use super::value::{Value, shortest_digits, to_f64, to_i64};

/// A math function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MathFn {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Addf,
    Subf,
    Mulf,
    Divf,
    Max,
    Min,
    Maxf,
    Minf,
    Ceil,
    Floor,
    Round,
}

const MANY: usize = usize::MAX;

const TABLE: &[(&str, MathFn, usize, usize)] = &[
    ("add", MathFn::Add, 0, MANY),
    ("sub", MathFn::Sub, 2, 2),
    ("mul", MathFn::Mul, 1, MANY),
    ("div", MathFn::Div, 2, 2),
    ("mod", MathFn::Mod, 2, 2),
    ("addf", MathFn::Addf, 0, MANY),
    ("subf", MathFn::Subf, 1, MANY),
    ("mulf", MathFn::Mulf, 1, MANY),
    ("divf", MathFn::Divf, 1, MANY),
    ("max", MathFn::Max, 1, MANY),
    ("min", MathFn::Min, 1, MANY),
    ("maxf", MathFn::Maxf, 1, MANY),
    ("minf", MathFn::Minf, 1, MANY),
    ("ceil", MathFn::Ceil, 1, 1),
    ("floor", MathFn::Floor, 1, 1),
    ("round", MathFn::Round, 2, 3),
];

/// Looks a math function up by name.
pub(super) fn lookup(name: &str) -> Option<MathFn> {
    TABLE.iter().find(|(n, ..)| *n == name).map(|&(_, f, ..)| f)
}

/// Minimum and maximum argument counts.
pub(super) fn arity(f: MathFn) -> (usize, usize) {
    TABLE
        .iter()
        .find(|(_, g, ..)| *g == f)
        .map_or((0, MANY), |&(_, _, lo, hi)| (lo, hi))
}

/// Applies a math function.
pub(super) fn call(f: MathFn, a: &[Value]) -> Result<Value, String> {
    let ints = || a.iter().map(to_i64);
    let floats = || a.iter().map(to_f64);
    Ok(match f {
        MathFn::Add => Value::Int(ints().fold(0i64, i64::wrapping_add)),
        MathFn::Sub => Value::Int(to_i64(&a[0]).wrapping_sub(to_i64(&a[1]))),
        MathFn::Mul => Value::Int(ints().fold(1i64, i64::wrapping_mul)),
        MathFn::Div | MathFn::Mod => {
            let (x, y) = (to_i64(&a[0]), to_i64(&a[1]));
            if y == 0 {
                return Err("runtime error: integer divide by zero".to_string());
            }
            Value::Int(if f == MathFn::Div {
                x.wrapping_div(y)
            } else {
                x.wrapping_rem(y)
            })
        }
        MathFn::Addf => Value::Float(floats().fold(0.0, |acc, x| dec_op(acc, x, Op::Add))),
        MathFn::Subf => Value::Float(floats().skip(1).fold(to_f64(&a[0]), |acc, x| dec_op(acc, x, Op::Sub))),
        MathFn::Mulf => Value::Float(floats().skip(1).fold(to_f64(&a[0]), |acc, x| dec_op(acc, x, Op::Mul))),
        MathFn::Divf => {
            let mut acc = to_f64(&a[0]);
            for x in floats().skip(1) {
                if x == 0.0 {
                    return Err("decimal division by 0".to_string());
                }
                acc /= x;
            }
            Value::Float(acc)
        }
        MathFn::Max => Value::Int(ints().max().unwrap_or(0)),
        MathFn::Min => Value::Int(ints().min().unwrap_or(0)),
        MathFn::Maxf => Value::Float(floats().fold(f64::NEG_INFINITY, f64::max)),
        MathFn::Minf => Value::Float(floats().fold(f64::INFINITY, f64::min)),
        MathFn::Ceil => Value::Float(to_f64(&a[0]).ceil()),
        MathFn::Floor => Value::Float(to_f64(&a[0]).floor()),
        MathFn::Round => {
            let places = match &a[1] {
                Value::Int(p) => *p,
                other => return Err(format!("wrong type for value; expected int; got {}", other.type_name())),
            };
            let round_on = a.get(2).map_or(0.5, to_f64);
            let pow = 10f64.powi(i32::try_from(places.clamp(-400, 400)).unwrap_or(0));
            let digit = pow * to_f64(&a[0]);
            let rounded = if digit.fract() >= round_on {
                digit.ceil()
            } else {
                digit.floor()
            };
            Value::Float(rounded / pow)
        }
    })
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
}

/// A float as an exact decimal `mantissa * 10^-scale` from its shortest representation.
fn to_decimal(f: f64) -> Option<(i128, u32)> {
    if !f.is_finite() {
        return None;
    }
    let (neg, digits, exp) = shortest_digits(f);
    let mut m: i128 = digits.parse().ok()?;
    if neg {
        m = -m;
    }
    let scale = i32::try_from(digits.len()).ok()? - 1 - exp;
    if scale < 0 {
        m = m.checked_mul(10i128.checked_pow(u32::try_from(-scale).ok()?)?)?;
        return Some((m, 0));
    }
    Some((m, u32::try_from(scale).ok().filter(|s| *s <= 36)?))
}

fn dec_op(x: f64, y: f64, op: Op) -> f64 {
    let exact = || -> Option<f64> {
        let (mx, sx) = to_decimal(x)?;
        let (my, sy) = to_decimal(y)?;
        let (m, scale) = match op {
            Op::Mul => (mx.checked_mul(my)?, sx + sy),
            Op::Add | Op::Sub => {
                let s = sx.max(sy);
                let ax = mx.checked_mul(10i128.checked_pow(s - sx)?)?;
                let ay = my.checked_mul(10i128.checked_pow(s - sy)?)?;
                (
                    if matches!(op, Op::Add) {
                        ax.checked_add(ay)?
                    } else {
                        ax.checked_sub(ay)?
                    },
                    s,
                )
            }
        };
        format!("{m}e-{scale}").parse().ok()
    };
    exact().unwrap_or(match op {
        Op::Add => x + y,
        Op::Sub => x - y,
        Op::Mul => x * y,
    })
}
