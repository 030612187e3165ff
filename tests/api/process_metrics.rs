//! `/metrics` carries the process's own figures under the names of Prometheus's process
//! collector, and the build, so dashboards see memory, file descriptors and the version.
//! The whole exposition is checked with `promtool check metrics` when promtool is installed,
//! and against the text format's grammar here in any case.

use std::collections::HashMap;

use crate::harness::TestApp;

/// The samples of an exposition by metric name (labels included), after checking that each
/// line is a comment or `name[{labels}] value`, and that each sample's family is typed first.
fn parse_exposition(body: &str) -> HashMap<String, f64> {
    let mut typed: HashMap<String, String> = HashMap::new();
    let mut samples = HashMap::new();
    for line in body.lines().filter(|line| !line.is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name type");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            typed.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line:?}"));
        let name = series.split('{').next().unwrap_or_default();
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "metric name in {line:?}"
        );
        assert!(
            series == name || (series.ends_with('}') && series.contains("=\"")),
            "labels in {line:?}"
        );
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .filter(|family| typed.get(*family).is_some_and(|kind| kind == "histogram"))
            .unwrap_or(name);
        assert!(typed.contains_key(family), "{name} has no # TYPE before it");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("value in {line:?}"));
        samples.insert(series.to_owned(), value);
    }
    for (name, kind) in [
        ("process_cpu_seconds_total", "counter"),
        ("process_resident_memory_bytes", "gauge"),
        ("process_virtual_memory_bytes", "gauge"),
        ("process_open_fds", "gauge"),
        ("process_max_fds", "gauge"),
        ("process_start_time_seconds", "gauge"),
        ("bydel_build_info", "gauge"),
    ] {
        assert_eq!(
            typed.get(name).map(String::as_str),
            Some(kind),
            "# TYPE {name}"
        );
    }
    samples
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_the_process_and_the_build() {
    let app = TestApp::spawn().await;
    let scrape = async || {
        app.client()
            .get(app.url("/metrics"))
            .send()
            .await
            .expect("the server answers")
            .text()
            .await
            .expect("a text body")
    };
    let body = scrape().await;
    let samples = parse_exposition(&body);
    let value = |name: &str| {
        *samples
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in /metrics:\n{body}"))
    };

    const MIB: f64 = 1024.0 * 1024.0;
    let resident = value("process_resident_memory_bytes");
    assert!(
        resident > MIB && resident < 64.0 * 1024.0 * MIB,
        "{resident}"
    );
    assert!(value("process_virtual_memory_bytes") >= resident);
    let (open, max) = (value("process_open_fds"), value("process_max_fds"));
    assert!(open >= 3.0 && open <= max, "{open} of {max}");
    assert!(value("process_cpu_seconds_total") > 0.0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64();
    let started = value("process_start_time_seconds");
    assert!(
        started <= now + 1.0 && started > now - 86_400.0,
        "{started} vs {now}"
    );
    let build = samples
        .iter()
        .find(|(series, _)| series.starts_with("bydel_build_info{"))
        .unwrap_or_else(|| panic!("no bydel_build_info:\n{body}"));
    assert!(
        build
            .0
            .contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION"))),
        "{build:?}"
    );
    assert_eq!(*build.1, 1.0);

    // A counter never goes back.
    let later = parse_exposition(&scrape().await);
    assert!(later["process_cpu_seconds_total"] >= value("process_cpu_seconds_total"));

    if let Ok(mut promtool) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        use std::io::Write;
        promtool
            .stdin
            .take()
            .expect("piped")
            .write_all(body.as_bytes())
            .expect("promtool reads the exposition");
        let checked = promtool.wait_with_output().expect("promtool ends");
        assert!(
            checked.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&checked.stdout),
            String::from_utf8_lossy(&checked.stderr)
        );
    }
}
