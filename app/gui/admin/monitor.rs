//! The Monitor page (4D Server's Monitor): uptime, sessions now and at most, CPU and memory of
//! the server, the network traffic as a live graph, archives served, the last reload.

use iced::widget::{column, container, row, space, text};
use iced::{Alignment, Element, Length, Theme};

use super::model::{Model, SAMPLES, Sample};
use super::{Message, fact, hm, section};
use crate::cli::output::{bytes, duration_secs};

/// The page.
pub fn view(model: &Model) -> Element<'_, Message> {
    let Some(s) = &model.status else {
        return text("Reading the server…").into();
    };
    let last = model.traffic.back().copied().unwrap_or_default();
    let reload = match &s.last_reload {
        None => "none since the server started".to_owned(),
        Some(r) => match &r.error {
            Some(err) => format!("{} — failed after {} ms: {err}", hm(r.at_ms), r.millis),
            None if r.changed => format!(
                "{} — rebuilt in {} ms ({})",
                hm(r.at_ms),
                r.millis,
                r.stamp.get(..12).unwrap_or(&r.stamp)
            ),
            None => format!("{} — checked in {} ms, unchanged", hm(r.at_ms), r.millis),
        },
    };
    let cpu = match (model.cpu_percent, s.cpu_ms) {
        (Some(p), Some(total)) => format!("{p:.1} % ({} in all)", duration_ms(total)),
        (None, Some(total)) => format!("{} in all", duration_ms(total)),
        _ => "not known on this system".to_owned(),
    };
    column![
        section(
            "Server",
            column![
                fact("Up for", duration_secs(s.uptime_secs)),
                fact(
                    "Sessions",
                    format!("{} now, {} at most", s.sessions, s.peak_sessions)
                ),
                fact("CPU", cpu),
                fact(
                    "Memory",
                    s.memory_bytes
                        .map_or_else(|| "not known on this system".to_owned(), bytes)
                ),
            ]
        ),
        section(
            "Network",
            column![
                fact(
                    "Now",
                    format!(
                        "in {}/s, out {}/s",
                        bytes(last.bytes_in as u64),
                        bytes(last.bytes_out as u64)
                    )
                ),
                fact(
                    "Since the start",
                    format!("in {}, out {}", bytes(s.bytes_in), bytes(s.bytes_out))
                ),
                graph(&model.traffic),
                fact(
                    "Served",
                    format!("{} archives, {} deltas", s.archives_served, s.deltas_served)
                ),
            ]
        ),
        section("Project", column![fact("Last reload", reload)]),
    ]
    .spacing(12)
    .into()
}

fn duration_ms(ms: u64) -> String {
    if ms < 10_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        duration_secs(ms / 1000)
    }
}

/// Height of the graph.
const GRAPH_HEIGHT: f32 = 80.0;

/// The last minute of traffic: a bar a second, received (accent) beside sent (muted), scaled to
/// the busiest second.
fn graph(samples: &std::collections::VecDeque<Sample>) -> Element<'_, Message> {
    let peak = samples
        .iter()
        .map(|s| s.bytes_in.max(s.bytes_out))
        .fold(1.0_f64, f64::max);
    let bar = |value: f64, sent: bool| {
        let h = ((value / peak) * f64::from(GRAPH_HEIGHT)).max(1.0) as f32;
        container(space().height(h).width(Length::Fill))
            .style(move |theme: &Theme| {
                let p = theme.extended_palette();
                container::Style::default().background(if sent {
                    p.secondary.base.color
                } else {
                    p.primary.base.color
                })
            })
            .width(Length::Fill)
    };
    let mut bars = row![]
        .spacing(1)
        .align_y(Alignment::End)
        .height(GRAPH_HEIGHT);
    for _ in samples.len()..SAMPLES {
        bars = bars.push(space().width(Length::Fill));
    }
    for s in samples {
        bars = bars.push(
            row![bar(s.bytes_in, false), bar(s.bytes_out, true)]
                .align_y(Alignment::End)
                .width(Length::Fill),
        );
    }
    column![
        container(bars).padding(4).style(container::bordered_box),
        text(format!(
            "last minute, peak {}/s — received, sent",
            bytes(peak as u64)
        ))
        .size(12),
    ]
    .spacing(2)
    .into()
}
