//! The OpenAI-compatible provider against a local stub server.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mge_core::Language;
use mge_generate::{
    GenerateError, GenerationRequest, Generator, OpenAiConfig, OpenAiGenerator, UnitKind,
};

use crate::stub::{completion, Reply, Stub};

fn request(unit_id: &str) -> GenerationRequest {
    GenerationRequest {
        unit_id: unit_id.to_string(),
        unit_kind: UnitKind::Atom,
        language: Language::Python,
        file_path: "shop/util.py".to_string(),
        prompt: "Write clamp(x, lo, hi) returning x limited to [lo, hi].".to_string(),
        context: "from decimal import Decimal".to_string(),
        feedback: None,
        temperature: 0.3,
        attempt: 1,
        expected: Some("this must never be sent".to_string()),
    }
}

/// A config for tests: short waits so retries are quick, generous budget.
fn config(stub: &Stub) -> OpenAiConfig {
    OpenAiConfig {
        base_url: stub.base_url.clone(),
        model: "gpt-4o-mini".to_string(),
        api_key: Some("sk-test".to_string()),
        max_concurrency: 4,
        request_timeout: Duration::from_secs(10),
        max_attempts: 6,
        budget: Duration::from_secs(30),
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(5),
        max_tokens: None,
        logprobs: false,
    }
}

fn generator(config: OpenAiConfig) -> OpenAiGenerator {
    OpenAiGenerator::new(config).expect("valid config")
}

const CODE: &str = "def clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n";

#[tokio::test]
async fn success_sends_the_prompt_and_reads_code_tokens_and_model() {
    let stub = Stub::start(|_, _| {
        completion(
            "```python\ndef clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n```",
            Some((120, 30)),
        )
    })
    .await;
    let response = generator(config(&stub))
        .generate(&request("u1"))
        .await
        .unwrap();
    assert_eq!(response.code, CODE);
    assert_eq!((response.tokens_in, response.tokens_out), (120, 30));
    assert!(!response.tokens_estimated);
    assert_eq!(response.model, "gpt-4o-mini-2024-07-18");
    assert_eq!(response.provider_attempts, 1);
    assert!(response.injected_faults.is_empty());
    assert!(response.logprobs.is_none());
    let expected_cost = (120.0 * 0.15 + 30.0 * 0.60) / 1e6;
    assert!((response.cost_usd - expected_cost).abs() < 1e-15);

    let requests = stub.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.request_line, "POST /v1/chat/completions HTTP/1.1");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-test"));
    let body = sent.json();
    assert_eq!(body["model"], "gpt-4o-mini");
    assert!((body["temperature"].as_f64().unwrap() - 0.3).abs() < 1e-6);
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][1]["role"], "user");
    let user = body["messages"][1]["content"].as_str().unwrap();
    assert!(user.contains("Write clamp(x, lo, hi)"));
    assert!(user.contains("from decimal import Decimal"));
    assert!(!sent.body.contains("this must never be sent"));
    assert!(body.get("logprobs").is_none());
    assert!(body.get("max_tokens").is_none());
}

#[tokio::test]
async fn code_fences_with_text_around_and_missing_usage_are_estimated() {
    let reply = "Sure! Here is the code:\n\n```py\ndef clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n```\n\nThis clamps x.";
    let stub = Stub::start(move |_, _| completion(reply, None)).await;
    let gen = generator(config(&stub));
    let response = gen.generate(&request("u1")).await.unwrap();
    assert_eq!(response.code, CODE);
    assert!(response.tokens_estimated);
    assert_eq!(response.tokens_out, mge_generate::estimate_tokens(reply));
    let prompt = mge_generate::prompt::render(&request("u1"));
    assert_eq!(response.tokens_in, prompt.estimated_tokens());
}

#[tokio::test]
async fn feedback_and_logprobs_are_sent_and_logprobs_surfaced() {
    let stub = Stub::start(|_, _| {
        let mut reply = completion("```python\nx = 1\n```", Some((10, 4)));
        let mut body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        body["choices"][0]["logprobs"] = serde_json::json!({"content": [
            {"token": "x", "logprob": -0.5, "bytes": [120], "top_logprobs": []},
            {"token": " =", "logprob": -0.25, "bytes": [32, 61], "top_logprobs": []},
            {"token": " 1", "logprob": -0.75, "bytes": [32, 49], "top_logprobs": []}
        ]});
        reply.body = body.to_string();
        reply
    })
    .await;
    let gen = generator(OpenAiConfig {
        logprobs: true,
        max_tokens: Some(512),
        ..config(&stub)
    });
    let mut req = request("u1");
    req.feedback = Some("line 2: undefined name 'hii'".to_string());
    req.attempt = 2;
    let response = gen.generate(&req).await.unwrap();
    let logprobs = response.logprobs.as_ref().unwrap();
    assert_eq!(logprobs.len(), 3);
    assert_eq!(logprobs[1].token, " =");
    assert_eq!(response.mean_logprob(), Some(-0.5));
    let body = stub.requests()[0].json();
    assert_eq!(body["logprobs"], true);
    assert_eq!(body["max_tokens"], 512);
    let user = body["messages"][1]["content"].as_str().unwrap();
    assert!(user.contains("line 2: undefined name 'hii'"));
}

#[tokio::test]
async fn a_429_storm_honours_retry_after_then_succeeds() {
    // Retry-After of 0 seconds or a date not in the future; the backoff alone (>= 20 s) would
    // blow the 10 s budget, so success proves Retry-After was honoured.
    let stub = Stub::start(|i, _| match i {
        0 | 2 => Reply::json(429, serde_json::json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}))
            .header("Retry-After", "0"),
        1 | 3 => Reply::json(429, serde_json::json!({"error": {"message": "slow down"}}))
            .header("Retry-After", &httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(5))),
        _ => completion("```python\nx = 1\n```", Some((10, 3))),
    })
    .await;
    let gen = generator(OpenAiConfig {
        backoff_base: Duration::from_secs(40),
        backoff_max: Duration::from_secs(60),
        budget: Duration::from_secs(10),
        ..config(&stub)
    });
    let response = gen.generate(&request("u1")).await.unwrap();
    assert_eq!(response.code, "x = 1\n");
    assert_eq!(response.provider_attempts, 5);
    assert_eq!(stub.request_count(), 5);
}

#[tokio::test]
async fn insufficient_quota_is_permanent_and_not_retried() {
    let stub = Stub::start(|_, _| {
        Reply::json(429, serde_json::json!({"error": {
            "message": "You exceeded your current quota, please check your plan and billing details.",
            "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}}))
        .header("Retry-After", "0")
    })
    .await;
    let err = generator(config(&stub))
        .generate(&request("u7"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, GenerateError::InsufficientQuota { status: 429, .. }),
        "{err:?}"
    );
    assert!(err.is_permanent());
    assert_eq!(err.kind(), "insufficient_quota");
    assert_eq!(stub.request_count(), 1);
    let message = err.to_string();
    assert!(
        message.starts_with("unit u7: POST http://127.0.0.1:"),
        "{message}"
    );
    assert!(
        message.contains("You exceeded your current quota"),
        "{message}"
    );
}

#[tokio::test]
async fn other_4xx_are_permanent() {
    for status in [400u16, 401, 404, 422] {
        let stub = Stub::start(move |_, _| {
            Reply::json(
                status,
                serde_json::json!({"error": {"message": format!("status {status}")}}),
            )
        })
        .await;
        let err = generator(config(&stub))
            .generate(&request("u1"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, GenerateError::Rejected { status: s, message, .. } if *s == status && message == &format!("status {status}")),
            "{err:?}"
        );
        assert!(err.is_permanent());
        assert_eq!(stub.request_count(), 1);
    }
}

#[tokio::test]
async fn a_500_then_success() {
    let stub = Stub::start(|i, _| match i {
        0 => Reply::raw(500, "upstream exploded"),
        _ => completion("```python\nx = 2\n```", None),
    })
    .await;
    let response = generator(config(&stub))
        .generate(&request("u1"))
        .await
        .unwrap();
    assert_eq!(response.code, "x = 2\n");
    assert_eq!(response.provider_attempts, 2);
}

#[tokio::test]
async fn persistent_5xx_exhausts_the_attempts() {
    let stub = Stub::start(|_, _| Reply::raw(502, "bad gateway")).await;
    let err = generator(OpenAiConfig {
        max_attempts: 3,
        ..config(&stub)
    })
    .generate(&request("u1"))
    .await
    .unwrap_err();
    match &err {
        GenerateError::AttemptsExhausted { attempts, last, .. } => {
            assert_eq!(*attempts, 3);
            assert!(
                matches!(**last, GenerateError::Server { status: 502, .. }),
                "{last:?}"
            );
        }
        other => panic!("expected AttemptsExhausted, got {other:?}"),
    }
    assert!(err.is_transient());
    assert_eq!(stub.request_count(), 3);
}

#[tokio::test]
async fn a_slow_response_times_out_and_is_retried() {
    let stub = Stub::start(|i, _| match i {
        0 => completion("```python\nslow = True\n```", None).after(Duration::from_secs(5)),
        _ => completion("```python\nfast = True\n```", None),
    })
    .await;
    let response = generator(OpenAiConfig {
        request_timeout: Duration::from_millis(200),
        ..config(&stub)
    })
    .generate(&request("u1"))
    .await
    .unwrap();
    assert_eq!(response.code, "fast = True\n");
    assert_eq!(response.provider_attempts, 2);
    assert_eq!(stub.request_count(), 2);
}

#[tokio::test]
async fn only_timeouts_give_a_timeout_error() {
    let stub = Stub::start(|_, _| completion("x", None).after(Duration::from_secs(5))).await;
    let err = generator(OpenAiConfig {
        request_timeout: Duration::from_millis(100),
        max_attempts: 2,
        ..config(&stub)
    })
    .generate(&request("u1"))
    .await
    .unwrap_err();
    let GenerateError::AttemptsExhausted { last, .. } = &err else {
        panic!("expected AttemptsExhausted, got {err:?}");
    };
    assert!(
        matches!(**last, GenerateError::Timeout { after, .. } if after == Duration::from_millis(100)),
        "{last:?}"
    );
}

#[tokio::test]
async fn malformed_json_is_a_clear_permanent_error() {
    let stub = Stub::start(|_, _| Reply::raw(200, "{\"choices\": [ {\"message\": ")).await;
    let err = generator(config(&stub))
        .generate(&request("u1"))
        .await
        .unwrap_err();
    let GenerateError::MalformedResponse { detail, .. } = &err else {
        panic!("expected MalformedResponse, got {err:?}");
    };
    assert_eq!(
        detail,
        r#"invalid JSON: EOF while parsing a value at line 1 column 26; body: "{\"choices\": [ {\"message\":""#
    );
    assert!(err.is_permanent());
    assert_eq!(stub.request_count(), 1);

    let stub = Stub::start(|_, _| Reply::json(200, serde_json::json!({"choices": []}))).await;
    let err = generator(config(&stub))
        .generate(&request("u1"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().ends_with("the reply has no choices"),
        "{err}"
    );

    let stub = Stub::start(|_, _| {
        Reply::json(200, serde_json::json!({"choices": [{"message": {"role": "assistant", "content": null}, "finish_reason": "content_filter"}]}))
    })
    .await;
    let err = generator(config(&stub))
        .generate(&request("u1"))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("choice 0 has no message content (finish_reason content_filter)"),
        "{err}"
    );
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    let port = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let gen = generator(OpenAiConfig {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        model: "gpt-4o-mini".to_string(),
        max_attempts: 3,
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(2),
        ..OpenAiConfig::default()
    });
    let err = gen.generate(&request("u9")).await.unwrap_err();
    let GenerateError::AttemptsExhausted { attempts, last, .. } = &err else {
        panic!("expected AttemptsExhausted, got {err:?}");
    };
    assert_eq!(*attempts, 3);
    assert!(
        matches!(**last, GenerateError::Connection { .. }),
        "{last:?}"
    );
    assert!(err.is_transient());
    assert!(
        err.to_string().starts_with(
            "unit u9: gave up after 3 attempt(s); last error: unit u9: POST http://127.0.0.1:"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn the_wall_clock_budget_bounds_the_retries() {
    let stub = Stub::start(|_, _| Reply::raw(503, "busy").header("Retry-After", "0.15")).await;
    let err = generator(OpenAiConfig {
        max_attempts: 100,
        budget: Duration::from_millis(500),
        ..config(&stub)
    })
    .generate(&request("u1"))
    .await
    .unwrap_err();
    let GenerateError::BudgetExhausted {
        attempts,
        budget,
        last,
        ..
    } = &err
    else {
        panic!("expected BudgetExhausted, got {err:?}");
    };
    assert_eq!(*budget, Duration::from_millis(500));
    // 0.15 s between attempts in a 0.5 s budget: at most 4 attempts fit.
    assert!((2..=4).contains(attempts), "{attempts}");
    assert!(matches!(**last, GenerateError::Server { status: 503, .. }));
    assert_eq!(stub.request_count(), *attempts as usize);
    assert_eq!(err.kind(), "budget_exhausted");
}

#[tokio::test]
async fn the_concurrency_limit_is_respected() {
    let stub = Stub::start(|_, _| {
        completion("```python\nx = 1\n```", None).after(Duration::from_millis(100))
    })
    .await;
    let gen = Arc::new(generator(OpenAiConfig {
        max_concurrency: 2,
        ..config(&stub)
    }));
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..8 {
        let gen = Arc::clone(&gen);
        calls.spawn(async move { gen.generate(&request(&format!("u{i}"))).await });
    }
    let mut ok = 0;
    while let Some(result) = calls.join_next().await {
        result.unwrap().unwrap();
        ok += 1;
    }
    assert_eq!(ok, 8);
    assert_eq!(stub.request_count(), 8);
    assert_eq!(stub.max_in_flight(), 2);
}

#[test]
fn configuration_is_checked_and_read_from_the_environment() {
    let bad = |config: OpenAiConfig| OpenAiGenerator::new(config).unwrap_err().to_string();
    assert_eq!(
        bad(OpenAiConfig {
            base_url: "localhost:8080".into(),
            ..OpenAiConfig::default()
        }),
        "generator configuration: base_url: 'localhost:8080' is not an http:// or https:// URL"
    );
    assert_eq!(
        bad(OpenAiConfig {
            max_concurrency: 0,
            ..OpenAiConfig::default()
        }),
        "generator configuration: max_concurrency: must be at least 1"
    );
    let env = |key: &str| match key {
        "MGE_OPENAI_BASE_URL" => Some("http://127.0.0.1:9/v1/".to_string()),
        "MGE_OPENAI_MODEL" => Some("gpt-4.1-nano".to_string()),
        "OPENAI_API_KEY" => Some("sk-abc".to_string()),
        _ => None,
    };
    let config = OpenAiConfig::from_lookup(env);
    assert_eq!(config.endpoint(), "http://127.0.0.1:9/v1/chat/completions");
    assert_eq!(config.model, "gpt-4.1-nano");
    assert_eq!(config.api_key.as_deref(), Some("sk-abc"));
    assert!(!format!("{config:?}").contains("sk-abc"));
    let config = OpenAiConfig::from_lookup(|_| None);
    assert_eq!(config, OpenAiConfig::default());
}
