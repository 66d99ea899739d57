//! How long the window takes to draw: the frame-time figures the GUI benchmark and
//! `--frame-stats` report.

/// UI work per frame, for the frame-time figure, and when each frame was drawn, for the frame
/// rate achieved.
#[derive(Debug, Clone, Default)]
pub struct FrameTimes {
    samples: std::collections::VecDeque<f64>,
    at: std::collections::VecDeque<f64>,
}

/// Frame-time statistics, milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameStats {
    /// Frames measured.
    pub frames: usize,
    /// Mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// Frames drawn per second of wall time over the frames kept.
    pub fps: f64,
}

impl FrameTimes {
    /// Records a frame's UI work `ms`, drawn at `at` seconds (the last 10,000 are kept).
    pub fn push(&mut self, ms: f64, at: f64) {
        if self.samples.len() == 10_000 {
            self.samples.pop_front();
            self.at.pop_front();
        }
        self.samples.push_back(ms);
        self.at.push_back(at);
    }

    /// Statistics over the frames kept.
    pub fn stats(&self) -> Option<FrameStats> {
        let mut v: Vec<f64> = self.samples.iter().copied().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        Some(FrameStats {
            frames: v.len(),
            mean_ms: v.iter().sum::<f64>() / v.len() as f64,
            p50_ms: q(0.5),
            p95_ms: q(0.95),
            max_ms: v[v.len() - 1],
            fps: match (self.at.front(), self.at.back()) {
                (Some(a), Some(b)) if b > a => (self.at.len() - 1) as f64 / (b - a),
                _ => 0.0,
            },
        })
    }
}
