//! Sign-in under a flood, in a child process whose memory is the point:
//! argon2 takes 19 MiB per hash, so the number hashing at once is bounded
//! and the rest are told to come back (`503` + `Retry-After`). Before that
//! bound, these 64 took the debug binary from 15 MiB to 1,239 MiB; with it,
//! on 2 cores, to 54 MiB (one reused 19 MiB block per hashing thread).

use serde_json::json;
use tokio::task::JoinSet;

use crate::support::ChildServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_sign_ins_stay_under_200_mib() {
    // Right passwords only, and no lockout to turn any away early: every
    // request wants a hash.
    let server = ChildServer::start(&[("SIGNIN_MAX_FAILURES", "1000")]).await;
    let client = server.client();
    let credentials = json!({ "email": "alice@example.com", "password": "correct horse" });
    let res = client.post_json("/api/auth/signup", &credentials).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let before = server.status_kib("VmRSS");

    let mut tasks = JoinSet::new();
    for _ in 0..64 {
        let (client, credentials) = (client.clone(), credentials.clone());
        tasks.spawn(async move {
            let res = client.post_json("/api/auth/signin", &credentials).await;
            let retry_after = res.headers.get("retry-after").is_some();
            (res.status, retry_after)
        });
    }
    let answers = tasks.join_all().await;
    let peak = server.status_kib("VmHWM");
    eprintln!(
        "64 parallel sign-ins: RSS {} MiB before, peak {} MiB",
        before / 1024,
        peak / 1024
    );
    for (status, retry_after) in &answers {
        assert!(matches!(status, 200 | 503), "{answers:?}");
        assert!(*status == 200 || *retry_after, "503 without Retry-After");
    }
    assert!(
        answers.iter().any(|(status, _)| *status == 200),
        "{answers:?}"
    );
    assert!(peak < 200 * 1024, "peak RSS {} MiB", peak / 1024);
}
