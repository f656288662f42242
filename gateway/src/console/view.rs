//! The console's look: the page layout with its navigation, the style sheet, the one small
//! script (live refresh of `[data-live]` parts, confirmation of destructive forms), the forms'
//! CSRF field, times and outcomes as people read them, and the SVG charts. Everything is
//! server-rendered and escaped by `maud`; the pages work without the script.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::session::Session;

/// The sections of the navigation, with their paths.
const NAV: [(&str, &str); 8] = [
    ("Overview", "/console"),
    ("Record", "/console/records"),
    ("Dead letters", "/console/dead-letters"),
    ("Conflicts", "/console/conflicts"),
    ("Reconciliation", "/console/reconcile"),
    ("Runs", "/console/runs"),
    ("Mappings", "/console/mappings"),
    ("Erasure", "/console/erasures"),
];

const STYLE: &str = r#"
:root{--ink:#1d2733;--mute:#5c6b7a;--line:#d8dee6;--bg:#f5f7fa;--brand:#0b5cab;--ok:#2e844a;--warn:#b86e00;--bad:#ba0517}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
header{display:flex;align-items:center;gap:24px;padding:10px 24px;background:#032d60;color:#fff}
header b{font-size:16px;letter-spacing:.3px}header nav a{color:#cfe3ff;text-decoration:none;margin-right:14px}
header nav a.on{color:#fff;font-weight:600;border-bottom:2px solid #fff}header .who{margin-left:auto;font-size:13px;color:#cfe3ff}
header form{display:inline}header button{background:none;border:1px solid #6f93c7;color:#fff;border-radius:4px;padding:2px 8px;cursor:pointer}
main{padding:20px 24px;max-width:1400px}h1{font-size:20px;margin:0 0 14px}h2{font-size:16px;margin:22px 0 8px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:12px}
.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:12px}.card .n{font-size:24px;font-weight:600}.card .l{color:var(--mute);font-size:12px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#eef2f6;font-weight:600;font-size:12px;color:#33475b}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}pre{background:#fff;border:1px solid var(--line);padding:8px;overflow:auto;max-height:320px}
.ok{color:var(--ok)}.warn{color:var(--warn)}.bad{color:var(--bad)}.mute{color:var(--mute)}
.pill{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;background:#e5ecf4}.pill.created,.pill.updated{background:#d8f0de}.pill.failed,.pill.dead{background:#fbd9d6}.pill.conflict,.pill.parked{background:#fde8c4}
form.inline{display:inline}input,select,button{font:inherit}input[type=text],input[type=search],input[type=password],select{padding:4px 6px;border:1px solid #b6c2cf;border-radius:4px}
button{padding:4px 10px;border-radius:4px;border:1px solid var(--brand);background:var(--brand);color:#fff;cursor:pointer}button.plain{background:#fff;color:var(--brand)}button.danger{background:var(--bad);border-color:var(--bad)}
.filters{display:flex;gap:10px;align-items:end;flex-wrap:wrap;margin:0 0 12px}.filters label{display:flex;flex-direction:column;font-size:12px;color:var(--mute)}
.flash{background:#e3f3e6;border:1px solid #9fd1aa;padding:8px 12px;border-radius:4px;margin-bottom:12px}.error{background:#fde4e1;border:1px solid #f0a39b;padding:8px 12px;border-radius:4px;margin-bottom:12px}
.bar{height:14px;background:#e5ecf4;border-radius:7px;overflow:hidden;min-width:160px}.bar>i{display:block;height:100%;background:var(--brand)}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:12px}.chart{background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px}.legend span{margin-right:12px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.login{max-width:380px;margin:80px auto;background:#fff;border:1px solid var(--line);border-radius:8px;padding:24px}.login input{width:100%;margin:8px 0 14px}
"#;

const SCRIPT: &str = r#"
(function(){
  function refresh(){
    document.querySelectorAll('[data-live]').forEach(function(el){
      if(document.hidden) return;
      fetch(location.href,{credentials:'same-origin'}).then(function(r){return r.text()}).then(function(t){
        var doc=new DOMParser().parseFromString(t,'text/html');var fresh=doc.getElementById(el.id);
        if(fresh) el.innerHTML=fresh.innerHTML;
      }).catch(function(){});
    });
  }
  if(document.querySelector('[data-live]')) setInterval(refresh,2000);
  document.addEventListener('submit',function(e){
    var f=e.target;if(f.dataset.confirm && !confirm(f.dataset.confirm)){e.preventDefault();return;}
    var b=f.querySelector('button[data-busy]');if(b){b.disabled=true;b.textContent=b.dataset.busy;}
  });
})();
"#;

/// The colour of each outcome in charts and pills.
pub const OUTCOME_COLOURS: [(&str, &str); 8] = [
    ("created", "#2e844a"),
    ("updated", "#54a868"),
    ("unchanged", "#9fb4c8"),
    ("skipped", "#c9d3de"),
    ("conflict", "#e39a1d"),
    ("retried", "#e6c36b"),
    ("failed", "#ba0517"),
    ("queued", "#0b5cab"),
];

fn colour(outcome: &str) -> &'static str {
    OUTCOME_COLOURS
        .iter()
        .find(|(o, _)| *o == outcome)
        .map_or("#7f8c9a", |(_, c)| c)
}

/// A whole page: the navigation (with `active` marked), who is signed in, and `body`.
pub fn page(title: &str, active: &str, session: &Session, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Isthmus console" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    b { "Isthmus" }
                    nav {
                        @for (name, path) in NAV {
                            a href=(path) class=[(name == active).then_some("on")] { (name) }
                        }
                    }
                    span.who {
                        (session.caller.name) " · "
                        @if session.can_act() { "admin" } @else { "viewer (read only)" }
                        " "
                        form.inline method="post" action="/console/logout" {
                            (csrf_field(session))
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    }
}

/// The sign-in page (no session yet).
pub fn sign_in(error: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Sign in · Isthmus console" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                div.login {
                    h1 { "Isthmus console" }
                    @if let Some(error) = error { div.error { (error) } }
                    form method="post" action="/console/login" {
                        label for="key" { "API key (admin or viewer scope)" }
                        input #key type="password" name="key" autocomplete="off" required;
                        button type="submit" { "Sign in" }
                    }
                    p.mute { "The key is exchanged for a session cookie and is not kept." }
                }
            }
        }
    }
}

/// The hidden CSRF field every state-changing form carries.
pub fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// A notice at the top of a page (`?msg=` after an action, or an error).
pub fn notices(msg: Option<&str>, error: Option<&str>) -> Markup {
    html! {
        @if let Some(msg) = msg.filter(|m| !m.is_empty()) { div.flash role="status" { (msg) } }
        @if let Some(error) = error.filter(|e| !e.is_empty()) { div.error role="alert" { (error) } }
    }
}

/// An outcome or state as a coloured pill.
pub fn pill(text: &str) -> Markup {
    html! { span class={ "pill " (text) } { (text) } }
}

/// Ms since the epoch as UTC, to the second; "—" for none.
pub fn when(ms: i64) -> String {
    if ms <= 0 {
        return "—".into();
    }
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "—".into())
}

/// How long ago `ms` was, relative to `now_ms`: "3 min ago".
pub fn ago(ms: i64, now_ms: i64) -> String {
    if ms <= 0 {
        return "never".into();
    }
    let s = ((now_ms - ms) / 1000).max(0);
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=172_799 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

/// A JSON value as short text ("—" for none).
pub fn value(value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => "—".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A progress bar of `done` out of `total`.
pub fn progress(done: u64, total: Option<u64>) -> Markup {
    let share = match total {
        Some(t) if t > 0 => (done as f64 / t as f64).min(1.0),
        _ => 0.0,
    };
    html! {
        div.bar role="progressbar" aria-valuenow=(done) aria-valuemax=[total] {
            i style={ "width:" (format!("{:.0}", share * 100.0)) "%" } {}
        }
    }
}

/// Stacked bars: per slot, counts by outcome. `labels` name the slots (shown under the first,
/// middle and last).
pub fn stacked_bars(slots: &[Vec<(String, u64)>], labels: &[String]) -> Markup {
    let (width, height, pad) = (640.0_f64, 180.0_f64, 22.0_f64);
    let max = slots
        .iter()
        .map(|s| s.iter().map(|(_, n)| *n).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let step = width / slots.len().max(1) as f64;
    let mut outcomes: Vec<&str> = Vec::new();
    for slot in slots {
        for (o, _) in slot {
            if !outcomes.contains(&o.as_str()) {
                outcomes.push(o);
            }
        }
    }
    html! {
        svg viewBox={ "0 0 " (width) " " (height + pad) } width="100%" role="img" aria-label="syncs per interval by outcome" {
            @for (i, slot) in slots.iter().enumerate() {
                @let mut top = height;
                @for (outcome, count) in slot {
                    @let h = *count as f64 / max * (height - 10.0);
                    @let y = { top -= h; top };
                    rect x=(format!("{:.1}", i as f64 * step + 1.0)) y=(format!("{y:.1}")) width=(format!("{:.1}", (step - 2.0).max(1.0))) height=(format!("{h:.1}")) fill=(colour(outcome)) {
                        title { (outcome) ": " (count) }
                    }
                }
            }
            line x1="0" y1=(height) x2=(width) y2=(height) stroke="#b6c2cf" {}
            text x="0" y=(height + 16.0) font-size="11" fill="#5c6b7a" { (labels.first().cloned().unwrap_or_default()) }
            text x=(width) y=(height + 16.0) font-size="11" fill="#5c6b7a" text-anchor="end" { (labels.last().cloned().unwrap_or_default()) }
            text x="2" y="11" font-size="11" fill="#5c6b7a" { "max " (max as u64) }
        }
        div.legend {
            @for outcome in outcomes { span { i style={ "background:" (colour(outcome)) } {} (outcome) } }
        }
    }
}

/// A line of `points` (x in 0..1, y in 0..max) against its `max`, with the maximum drawn.
pub fn line_chart(points: &[(f64, f64)], max: f64, caption: &str) -> Markup {
    let (width, height) = (640.0_f64, 180.0_f64);
    let max = max.max(1.0);
    let path: Vec<String> = points
        .iter()
        .map(|(x, y)| {
            format!(
                "{:.1},{:.1}",
                x * width,
                height - (y / max) * (height - 10.0)
            )
        })
        .collect();
    html! {
        svg viewBox={ "0 0 " (width) " " (height + 22.0) } width="100%" role="img" aria-label=(caption) {
            line x1="0" y1="10" x2=(width) y2="10" stroke="#ba0517" stroke-dasharray="4 3" {}
            text x="2" y="22" font-size="11" fill="#ba0517" { "allocation " (max as u64) }
            @if !path.is_empty() {
                polyline points=(path.join(" ")) fill="none" stroke="#0b5cab" stroke-width="2" {}
            }
            line x1="0" y1=(height) x2=(width) y2=(height) stroke="#b6c2cf" {}
            text x="0" y=(height + 16.0) font-size="11" fill="#5c6b7a" { "24 h ago" }
            text x=(width) y=(height + 16.0) font-size="11" fill="#5c6b7a" text-anchor="end" { "now" }
        }
    }
}
