//! Sessions over HTTP on the emulator: short access tokens with rotating refresh tokens, a reused
//! refresh token ending its session, logout by body or cookie, the key set at the well-known path.

use std::time::Duration;

use helix_e2e::{Options, StatusCode, TestPlatform, error_of, split};
use serde_json::{Value, json};

async fn post(t: &TestPlatform, path: &str, body: Option<&Value>, cookie: Option<&str>) -> reqwest::Response {
    let mut request = t.http.post(t.url(path));
    if let Some(body) = body {
        request = request.json(body);
    }
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

fn refresh_cookie(response: &reqwest::Response) -> String {
    let set = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/api/v1/auth"), "{set}");
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_ends_the_session() {
    let t = TestPlatform::start_with(Options { workers: false, ..Default::default() }).await;
    let user = t.user().await;
    let (status, first) = split(login_response(&t, &user.email, &user.password).await).await;
    assert_eq!((status, first["expires_in"].as_u64()), (StatusCode::OK, Some(900)), "{first}");
    let first_refresh = first["refresh_token"].as_str().unwrap().to_owned();

    let response = post(&t, "/api/v1/auth/refresh", Some(&json!({"refresh_token": first_refresh})), None).await;
    let (status, second) = split(response).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let access = second["access_token"].as_str().unwrap().to_owned();
    assert_eq!(t.get(&access, "/api/v1/users/me").await.0, StatusCode::OK);

    // Within seconds of a rotation the replaced token still refreshes (two tabs, one cookie).
    let raced = post(&t, "/api/v1/auth/refresh", Some(&json!({"refresh_token": first_refresh})), None).await;
    let (status, third) = split(raced).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    let latest = third["refresh_token"].as_str().unwrap().to_owned();
    // A token two rotations old is a theft: the session ends, with every token of it.
    let (status, body) =
        split(post(&t, "/api/v1/auth/refresh", Some(&json!({"refresh_token": first_refresh})), None).await).await;
    assert_eq!((status, error_of(&body).0.as_str()), (StatusCode::UNAUTHORIZED, "unauthorized"), "{body}");
    let again = post(&t, "/api/v1/auth/refresh", Some(&json!({"refresh_token": latest})), None).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (status, body) = t.get(&access, "/api/v1/users/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

#[tokio::test]
async fn logout_by_cookie_ends_the_session_within_a_second() {
    let t = TestPlatform::start_with(Options { workers: false, ..Default::default() }).await;
    let user = t.user().await;
    let login = login_response(&t, &user.email, &user.password).await;
    let cookie = refresh_cookie(&login);
    let (_, tokens) = split(login).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();

    // The dashboard's way: the cookie alone refreshes (and is replaced).
    let refreshed = post(&t, "/api/v1/auth/refresh", None, Some(&cookie)).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let cookie = refresh_cookie(&refreshed);

    let logout = post(&t, "/api/v1/auth/logout", None, Some(&cookie)).await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert!(logout.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(post(&t, "/api/v1/auth/refresh", None, Some(&cookie)).await.status(), StatusCode::UNAUTHORIZED);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(t.get(&access, "/api/v1/users/me").await.0, StatusCode::UNAUTHORIZED);
    // Another session of the same user is untouched.
    assert_eq!(t.get(&user.token, "/api/v1/users/me").await.0, StatusCode::OK);

    let (status, body) = split(post(&t, "/api/v1/auth/refresh", None, None).await).await;
    assert_eq!((status, error_of(&body).1.as_deref()), (StatusCode::BAD_REQUEST, Some("refresh_token")));
    let (status, jwks) = split(t.http.get(t.url("/.well-known/jwks.json")).send().await.unwrap()).await;
    assert_eq!((status, jwks["keys"][0]["alg"].as_str()), (StatusCode::OK, Some("EdDSA")));
}

#[tokio::test]
async fn five_failed_logins_make_the_next_one_wait() {
    let t = TestPlatform::start_with(Options { workers: false, ..Default::default() }).await;
    let user = t.user().await;
    let login = |password: &'static str| login_response(&t, &user.email, password);
    for _ in 0..5 {
        assert_eq!(login("not the password").await.status(), StatusCode::UNAUTHORIZED);
    }
    let throttled = login("not the password").await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = throttled.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    let (_, body) = split(throttled).await;
    assert_eq!(error_of(&body).0, "too_many_requests");
    // The right password waits too: the throttle answers before any password is checked.
    assert_eq!(login_with(&t, &user.email, &user.password).await, StatusCode::TOO_MANY_REQUESTS);
}

async fn login_response(t: &TestPlatform, email: &str, password: &str) -> reqwest::Response {
    t.http.post(t.url("/api/v1/auth/token")).form(&[("username", email), ("password", password)]).send().await.unwrap()
}

async fn login_with(t: &TestPlatform, email: &str, password: &str) -> StatusCode {
    login_response(t, email, password).await.status()
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions() {
    let t = TestPlatform::start_with(Options { workers: false, ..Default::default() }).await;
    let user = t.user().await;
    let other = t.login(&user.email, &user.password).await;
    let change = |current: &str, new: &str| {
        let body = json!({"current_password": current, "new_password": new});
        t.http.put(t.url("/api/v1/users/me/password")).bearer_auth(&user.token).json(&body).send()
    };
    let (status, body) = split(change("wrong password", "a new long password").await.unwrap()).await;
    assert_eq!((status, error_of(&body).1.as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("current_password")));
    assert_eq!(change(&user.password, "a new long password").await.unwrap().status(), StatusCode::NO_CONTENT);

    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(t.get(&other, "/api/v1/users/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(t.get(&user.token, "/api/v1/users/me").await.0, StatusCode::OK, "the session that changed it stays");
    assert_eq!(login_with(&t, &user.email, &user.password).await, StatusCode::UNAUTHORIZED);
    assert_eq!(login_with(&t, &user.email, "a new long password").await, StatusCode::OK);
}
