//! Who may open a session: passwords and throttling, address rules, the open hook and its question.

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn logins_are_checked_and_throttled() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let hash = with_user(dir.path(), "alice", "s3cret");
    let mut cfg = config();
    cfg.login.max_failures = 3;
    let t = start(dir.path(), cfg).await;
    let c = t.client();
    assert!(c.info().await.unwrap().login_required);
    // The project's content is not served without a session.
    let e = c
        .send::<()>(Method::GET, "/api/v1/project/archive", None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::UnknownSession));

    let mut req = hello();
    req.user_name = Some("Alice".into());
    req.password = Some("s3cret".into());
    let s = open(&c, &req).await;
    assert_eq!(s.session.user_name, "alice");
    let sc = c.clone().with_token(s.token);
    assert_eq!(
        sc.send::<()>(Method::GET, "/api/v1/project/manifest", None)
            .await
            .unwrap(),
        StatusCode::OK
    );

    // A .4DLink md5_password is the stored hash itself.
    let mut by_hash = hello();
    by_hash.user_name = Some("alice".into());
    by_hash.password_hash = Some(hash);
    open(&c, &by_hash).await;

    req.password = Some("wrong".into());
    for _ in 0..3 {
        assert_eq!(api_error(&c, &req).await, ErrorCode::WrongPassword);
    }
    req.password = Some("s3cret".into());
    assert_eq!(
        api_error(&c, &req).await,
        ErrorCode::TooManyAttempts,
        "even the right password waits"
    );
    t.server.shutdown().await;
}

// The hook is a shell script: Unix only.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn open_hook_refuses_fills_storage_and_challenges() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let hooks = tempfile::tempdir().unwrap();
    // Refuses user "mallory", challenges machine "phone", fills storage otherwise.
    let hook = script(
        hooks.path(),
        "open.sh",
        r#"input=$(cat)
case "$input" in
  *'"machineName":"blocked"'*) echo "Connections from this machine are not allowed between 2 and 4 am."; exit 1 ;;
  *'"machineName":"phone"'*)
    case "$input" in
      *'"answer":"424242"'*) echo '{"storage":{"verified":true}}' ;;
      *'"answer":null'*) echo '{"challenge":"Enter the code sent to your phone","state":{"sent":true}}' ;;
      *) echo "Wrong code."; exit 3 ;;
    esac ;;
  *) echo '{"storage":{"greeting":"hello","plan":"gold"}}' ;;
esac"#,
    );
    let closed = hooks.path().join("closed.log");
    let close = script(
        hooks.path(),
        "close.sh",
        &format!("cat >> {}", closed.display()),
    );
    let mut cfg = config();
    cfg.hooks.open_connection = Some(vec![hook]);
    cfg.hooks.close_connection = Some(vec![close]);
    let t = start(dir.path(), cfg).await;
    let c = t.client();

    let s = open(&c, &hello()).await;
    assert_eq!(s.storage, json!({"greeting": "hello", "plan": "gold"}));
    let sc = c.clone().with_token(s.token.clone());
    sc.send::<()>(
        Method::DELETE,
        &format!("/api/v1/sessions/{}", s.session.id),
        None,
    )
    .await
    .unwrap();
    let log = eventually(5, || async {
        std::fs::read_to_string(&closed)
            .ok()
            .filter(|l| !l.is_empty())
    })
    .await;
    assert!(
        log.contains("\"event\":\"close\"") && log.contains(&s.session.id),
        "{log}"
    );

    let mut blocked = hello();
    blocked.machine_name = "blocked".into();
    let e = c
        .json::<_, OpenSessionResponse>(Method::POST, "/api/v1/sessions", Some(&blocked))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Refused));
    assert_eq!(
        e.to_string(),
        "Connections from this machine are not allowed between 2 and 4 am."
    );

    let mut phone = hello();
    phone.machine_name = "phone".into();
    let OpenSessionResponse::Challenge(ch) = c
        .json(Method::POST, "/api/v1/sessions", Some(&phone))
        .await
        .unwrap()
    else {
        panic!("expected a challenge")
    };
    assert_eq!(ch.prompt, "Enter the code sent to your phone");
    phone.challenge = Some(ChallengeAnswer {
        id: ch.id.clone(),
        answer: "000000".into(),
    });
    assert_eq!(api_error(&c, &phone).await, ErrorCode::ChallengeFailed);
    // A used or unknown challenge cannot be answered again.
    phone.challenge = Some(ChallengeAnswer {
        id: ch.id,
        answer: "424242".into(),
    });
    assert_eq!(api_error(&c, &phone).await, ErrorCode::ChallengeFailed);
    phone.challenge = None;
    let OpenSessionResponse::Challenge(ch) = c
        .json(Method::POST, "/api/v1/sessions", Some(&phone))
        .await
        .unwrap()
    else {
        panic!("expected a challenge")
    };
    phone.challenge = Some(ChallengeAnswer {
        id: ch.id,
        answer: "424242".into(),
    });
    let s = open(&c, &phone).await;
    assert_eq!(s.storage, json!({"verified": true}));
    t.server.shutdown().await;
}

// The hook is a shell script: Unix only.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_hook_is_killed_and_the_connection_refused() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let hooks = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.hooks.open_connection = Some(vec![script(hooks.path(), "hang.sh", "sleep 30")]);
    cfg.hooks.timeout_secs = 1;
    let t = start(dir.path(), cfg).await;
    let c = t.client();
    let started = std::time::Instant::now();
    let e = c
        .json::<_, OpenSessionResponse>(Method::POST, "/api/v1/sessions", Some(&hello()))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Refused));
    assert!(e.to_string().contains("did not answer"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The server still answers.
    c.info().await.unwrap();
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn address_rules_refuse_before_anything_else() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let mut cfg = config();
    cfg.access = vec![remote4d_core::server::config::AccessRule {
        allow: None,
        deny: Some("127.*".into()),
    }];
    let t = start(dir.path(), cfg).await;
    assert_eq!(api_error(&t.client(), &hello()).await, ErrorCode::Refused);
    t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_one_time_code_example_hook_works_end_to_end() {
    let python = ["/usr/bin/python3", "python3"].into_iter().find(|p| {
        std::process::Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(python) = python else {
        eprintln!("skipped: python3 is not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let outbox = tempfile::tempdir().unwrap();
    let hook = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../resources/hooks/otp-challenge.py");
    let mut cfg = config();
    cfg.hooks.open_connection = Some(vec![
        python.into(),
        hook.display().to_string(),
        "--outbox".into(),
        outbox.path().display().to_string(),
    ]);
    let t = start(dir.path(), cfg).await;
    let c = t.client();
    let mut req = hello();
    let OpenSessionResponse::Challenge(ch) = c
        .json(Method::POST, "/api/v1/sessions", Some(&req))
        .await
        .unwrap()
    else {
        panic!("expected the code to be asked for")
    };
    assert!(ch.prompt.contains("6-digit code"));
    let code = std::fs::read_to_string(outbox.path().join("Designer.txt"))
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(code.len(), 6);
    req.challenge = Some(ChallengeAnswer {
        id: ch.id,
        answer: code,
    });
    let s = open(&c, &req).await;
    assert_eq!(s.storage["verified_by"], "one-time code");
    t.server.shutdown().await;
}

/// A server paired with its own client application (4D's `HardLink`) opens sessions only for
/// clients that carry the same text; the Designer and the Administrator, logged in with their
/// password, still get in (to administer it); on an open-access project no one is exempt.
#[tokio::test(flavor = "multi_thread")]
async fn a_hard_linked_server_accepts_only_its_own_clients() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    let hash = bcrypt::hash("s3cret", 4)
        .unwrap()
        .replacen("$2b$", "$2y$", 1);
    write(
        dir.path(),
        "Settings/directory.json",
        format!(
            r#"{{"users":{{"administrator":{{"alias":"Administrator","password":"{hash}"}},"bob":{{"password":"{hash}"}}}}}}"#
        )
        .as_bytes(),
    );
    let mut cfg = config();
    cfg.hard_link = Some("boutique-2026".into());
    let t = start(dir.path(), cfg).await;
    let c = t.client();
    let login = |user: &str, pairing: Option<&str>| OpenSession {
        user_name: Some(user.into()),
        password: Some("s3cret".into()),
        hard_link: pairing.map(str::to_owned),
        ..hello()
    };
    assert_eq!(api_error(&c, &login("bob", None)).await, ErrorCode::Refused);
    assert_eq!(
        api_error(&c, &login("bob", Some("another-app"))).await,
        ErrorCode::Refused
    );
    open(&c, &login("bob", Some("boutique-2026"))).await;
    open(&c, &login("Administrator", None)).await;
    t.server.shutdown().await;

    // Open access: everyone would be the Designer; only the paired client gets in.
    let open_dir = tempfile::tempdir().unwrap();
    project(open_dir.path());
    let mut cfg = config();
    cfg.hard_link = Some("boutique-2026".into());
    let t = start(open_dir.path(), cfg).await;
    let c = t.client();
    assert_eq!(api_error(&c, &hello()).await, ErrorCode::Refused);
    let paired = OpenSession {
        hard_link: Some("boutique-2026".into()),
        ..hello()
    };
    open(&c, &paired).await;
    t.server.shutdown().await;
}
