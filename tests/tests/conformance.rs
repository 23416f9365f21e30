//! The requests real Next.js 14.2.35 answered, replayed against the same
//! tree served by approute: in process and over a socket, every answer must
//! match.

mod support;

use approute_tests::next14;
use support::{call, differences, observe, raw, serve};

const REQUESTS: &str = include_str!("../conformance/requests.txt");
const GOLDEN: &str = include_str!("../conformance/golden-next14.jsonl");

fn cases() -> Vec<(String, serde_json::Value)> {
    let golden: Vec<serde_json::Value> = GOLDEN
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let requests: Vec<&str> = REQUESTS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(requests.len(), golden.len(), "one golden answer a request");
    assert_eq!(requests.len(), 74);
    requests
        .into_iter()
        .map(|line| {
            let want = golden
                .iter()
                .find(|g| g["req"] == line)
                .unwrap_or_else(|| panic!("no golden answer for {line}"))
                .clone();
            (line.to_string(), want)
        })
        .collect()
}

fn report(failures: Vec<String>, total: usize) {
    assert!(
        failures.is_empty(),
        "{} of {total} requests differ from Next.js 14:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn in_process_answers_match_nextjs() {
    let router = next14::router();
    let cases = cases();
    let mut failures = Vec::new();
    for (line, want) in &cases {
        let (method, target) = line.split_once(' ').unwrap();
        let got = observe(line, &call(&router, method, target).await);
        let diff = differences(want, &got);
        if !diff.is_empty() {
            failures.push(format!("{line}: {}", diff.join("; ")));
        }
    }
    report(failures, cases.len());
}

#[tokio::test]
async fn socket_answers_match_nextjs() {
    let addr = serve(next14::router()).await;
    let cases = cases();
    let mut failures = Vec::new();
    for (line, want) in &cases {
        let (method, target) = line.split_once(' ').unwrap();
        let got = observe(line, &raw(addr, method, target).await);
        let diff = differences(want, &got);
        if !diff.is_empty() {
            failures.push(format!("{line}: {}", diff.join("; ")));
        }
    }
    report(failures, cases.len());
}

#[tokio::test]
async fn method_not_allowed_lists_allow_as_rfc_9110_asks() {
    // Sorted as Next.js sorts them (its own test expects `OPTIONS, POST`).
    let router = next14::router();
    let answer = call(&router, "POST", "/api/users/42").await;
    assert_eq!(answer.status, 405);
    assert_eq!(
        answer.header("allow"),
        Some("DELETE, GET, HEAD, OPTIONS, PATCH, PUT")
    );
    let answer = call(&router, "GET", "/api/headonly").await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.header("allow"), Some("HEAD, OPTIONS"));
}
