//! Sample values as pure functions of (seed, target, series, time since the run's epoch),
//! so that every system scraping the same workload stores the same numbers.

use super::template::{CounterUnit, ValueClass};

/// Salts that keep the independent random draws of one series apart.
#[derive(Clone, Copy)]
#[repr(u64)]
pub(crate) enum Draw {
    Uptime = 1,
    Phase,
    ChurnPhase,
    Churned,
    Still,
    Rate,
    Level,
    Wanders,
    Period,
    WavePhase,
    Noise,
    Requests,
    Latency,
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A number in [0, 1) determined by `parts` alone.
pub(crate) fn unit(parts: &[u64]) -> f64 {
    let h = parts.iter().fold(0u64, |h, &p| splitmix(h ^ p));
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// The random draws of one target.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TargetDraws {
    pub(crate) seed: u64,
    pub(crate) target: u64,
}

impl TargetDraws {
    /// A per-target draw (uptime, phases).
    pub(crate) fn of_target(self, draw: Draw) -> f64 {
        unit(&[self.seed, self.target, u64::MAX, draw as u64])
    }

    /// A per-series draw; `key` is the series number (or histogram number).
    pub(crate) fn of(self, key: u64, draw: Draw) -> f64 {
        unit(&[self.seed, self.target, key, draw as u64])
    }

    /// How long the simulated host has been up when the run starts, so counters start at
    /// plausible totals: 1 to 35 days.
    fn uptime_s(self) -> f64 {
        86_400.0 * (1.0 + 34.0 * self.of_target(Draw::Uptime))
    }
}

/// `10^(lo + (hi - lo) * u)`: magnitudes spread evenly over decades.
fn decades(u: f64, lo: f64, hi: f64) -> f64 {
    10f64.powf(lo + (hi - lo) * u)
}

/// Truncates to `per_unit` steps (100 = two decimals), as exporters print rounded values.
fn quantize(x: f64, per_unit: f64) -> f64 {
    (x * per_unit).floor() / per_unit
}

/// The value of series number `series` (of class `class`) at `t_s` seconds after the epoch.
pub(crate) fn value(draws: TargetDraws, series: u64, class: ValueClass, t_s: f64) -> f64 {
    let age = draws.uptime_s() + t_s;
    match class {
        ValueClass::One => 1.0,
        ValueClass::Counter(unit) => counter(draws, series, unit, age),
        ValueClass::Gauge { bytes } => gauge(draws, series, bytes, t_s),
        ValueClass::Bucket { histogram, le } => {
            let count = requests(draws, histogram, age);
            if le.is_infinite() {
                count
            } else {
                (count * latency_cdf(draws, histogram, le)).floor()
            }
        }
        ValueClass::HistogramCount { histogram } => requests(draws, histogram, age),
        ValueClass::HistogramSum { histogram } => {
            let median = median_latency_s(draws, histogram);
            quantize(requests(draws, histogram, age) * median * 1.3, 1000.0)
        }
    }
}

fn counter(draws: TargetDraws, series: u64, unit: CounterUnit, age: f64) -> f64 {
    let u = draws.of(series, Draw::Rate);
    let (per_second, per_unit) = match unit {
        CounterUnit::Seconds => (u, 100.0),
        CounterUnit::Bytes => (decades(u, 2.0, 6.0), 1.0),
        CounterUnit::Events => (decades(u, -1.0, 3.0), 1.0),
    };
    // About a quarter of real counters (errors, drops) stay where they are.
    if draws.of(series, Draw::Still) < 0.25 {
        return quantize(per_second * draws.uptime_s(), per_unit);
    }
    quantize(per_second * age, per_unit)
}

fn gauge(draws: TargetDraws, series: u64, bytes: bool, t_s: f64) -> f64 {
    let u = draws.of(series, Draw::Level);
    let (level, per_unit) = if bytes {
        (decades(u, 6.0, 11.0), 1.0)
    } else {
        (100.0 * u, 100.0)
    };
    // Half the gauges (sizes, limits, flags) never move; the others wander slowly around
    // their level with a little noise on every sample.
    if draws.of(series, Draw::Wanders) < 0.5 {
        return quantize(level, per_unit);
    }
    let period_s = 600.0 + 3000.0 * draws.of(series, Draw::Period);
    let phase = std::f64::consts::TAU * draws.of(series, Draw::WavePhase);
    let wave = (std::f64::consts::TAU * t_s / period_s + phase).sin();
    let noise = unit(&[
        draws.seed,
        draws.target,
        series,
        Draw::Noise as u64,
        t_s.to_bits(),
    ]) - 0.5;
    quantize(level * (1.0 + 0.1 * wave + 0.01 * noise), per_unit)
}

/// Requests served so far by histogram `histogram`: 0.1 to 50 per second.
fn requests(draws: TargetDraws, histogram: usize, age: f64) -> f64 {
    let per_second = decades(draws.of(histogram as u64, Draw::Requests), -1.0, 1.7);
    (per_second * age).floor()
}

/// Median request latency: 10 ms to ~300 ms.
fn median_latency_s(draws: TargetDraws, histogram: usize) -> f64 {
    decades(draws.of(histogram as u64, Draw::Latency), -2.0, -0.5)
}

/// Share of requests at most `le` seconds long: log-logistic around the median.
fn latency_cdf(draws: TargetDraws, histogram: usize, le: f64) -> f64 {
    let z = (le / median_latency_s(draws, histogram)).ln() / 0.5;
    1.0 / (1.0 + (-z).exp())
}
