//! Logging in: passwords, the open hook's refusal and its question.

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn passwords_hook_refusal_and_challenge() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    with_user(dir.path(), "alice", "s3cret");
    let hooks = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.hooks.open_connection = Some(vec![script(
        hooks.path(),
        "open.sh",
        r#"input=$(cat)
case "$input" in
  *'"userName":"Designer"'*) echo "The Designer may not connect remotely."; exit 1 ;;
  *'"answer":"123456"'*) echo '{"storage":{"ok":1}}' ;;
  *'"answer":null'*) echo '{"challenge":"Enter the code sent to your phone"}' ;;
  *) echo "Wrong code."; exit 1 ;;
esac"#,
    )]);
    let t = start(dir.path(), cfg).await;
    let c = Client::new();
    let mut o = c.options(&t.authority());
    o.user = Some("alice".into());
    o.password = Some("nope".into());
    let e = connect(o.clone(), &|_| {}).await.unwrap_err();
    assert!(matches!(e, ConnectError::Login(_)), "{e:?}");
    let mut designer = c.options(&t.authority());
    designer.user = Some("Designer".into());
    designer.password = Some("".into());
    // The Designer has no password here, so the login passes and the hook refuses.
    let e = connect(designer, &|_| {}).await.unwrap_err();
    assert!(
        matches!(&e, ConnectError::Refused(m) if m == "The Designer may not connect remotely."),
        "{e:?}"
    );
    o.password = Some("s3cret".into());
    let ConnectError::Challenge { id, prompt } = connect(o.clone(), &|_| {}).await.unwrap_err()
    else {
        panic!()
    };
    assert_eq!(prompt, "Enter the code sent to your phone");
    o.challenge = Some(ChallengeAnswer {
        id,
        answer: "123456".into(),
    });
    let conn = connect(o, &|_| {}).await.unwrap();
    assert_eq!(conn.session.as_ref().unwrap().storage, json!({"ok": 1}));
    assert_eq!(conn.session.as_ref().unwrap().session.user_name, "alice");
    t.server.shutdown().await;
}
