//! The simulated provider: determinism, rate 0, feedback, tokens, latency, cost, errors.

use std::time::Duration;

use mge_core::Language;
use mge_generate::{
    FaultMix, GenerateError, GenerationRequest, Generator, SimulatedConfig, SimulatedGenerator,
    UnitKind,
};

use crate::support::{undo, PY_SNIPPET, SAMPLES};

fn request(unit_id: &str, language: Language, expected: &str) -> GenerationRequest {
    GenerationRequest {
        unit_id: unit_id.to_string(),
        unit_kind: UnitKind::Atom,
        language,
        file_path: String::new(),
        prompt: format!("Write unit {unit_id}."),
        context: String::new(),
        feedback: None,
        temperature: 0.0,
        attempt: 1,
        expected: Some(expected.to_string()),
    }
}

fn simulated(seed: u64, fault_rate: f64) -> SimulatedGenerator {
    SimulatedGenerator::new(SimulatedConfig {
        seed,
        fault_rate,
        time_scale: 0.0,
        ..SimulatedConfig::default()
    })
    .unwrap()
}

#[tokio::test]
async fn same_seed_same_output_and_a_retry_draws_anew() {
    let (_, code, language) = SAMPLES[0];
    let a = simulated(42, 0.2);
    let b = simulated(42, 0.2);
    let req = request("shop/services/pricing.py#1", language, code);
    let first = a.generate(&req).await.unwrap();
    assert_eq!(first, b.generate(&req).await.unwrap());
    assert_eq!(first, a.generate(&req).await.unwrap());
    assert!(!first.injected_faults.is_empty());
    assert_eq!(undo(&first.code, &first.injected_faults), code);

    let other_seed = simulated(43, 0.2).generate(&req).await.unwrap();
    assert_ne!(first.code, other_seed.code);
    let retry = a
        .generate(&GenerationRequest {
            attempt: 2,
            ..req.clone()
        })
        .await
        .unwrap();
    assert_ne!(first.code, retry.code);
    let other_unit = a
        .generate(&GenerationRequest {
            unit_id: "other".into(),
            ..req
        })
        .await
        .unwrap();
    assert_ne!(first.code, other_unit.code);
}

#[tokio::test]
async fn fault_rate_zero_returns_the_reference_exactly() {
    let gen = simulated(7, 0.0);
    for (name, code, language) in SAMPLES {
        for attempt in 1..=3 {
            let req = GenerationRequest {
                attempt,
                ..request(name, language, code)
            };
            let response = gen.generate(&req).await.unwrap();
            assert_eq!(response.code, code);
            assert!(response.injected_faults.is_empty());
        }
    }
}

#[tokio::test]
async fn feedback_lowers_the_fault_rate_by_the_documented_factor() {
    let gen = simulated(5, 0.2);
    let (mut without, mut with) = (0usize, 0usize);
    for (name, code, language) in SAMPLES {
        for unit in 0..60 {
            let req = request(&format!("{name}#{unit}"), language, code);
            assert_eq!(gen.effective_fault_rate(&req), 0.2);
            without += gen.generate(&req).await.unwrap().injected_faults.len();
            let req = GenerationRequest {
                feedback: Some("line 3: undefined name 'totl'".into()),
                ..req
            };
            assert!((gen.effective_fault_rate(&req) - 0.2 * 0.3).abs() < 1e-12);
            with += gen.generate(&req).await.unwrap().injected_faults.len();
        }
    }
    let ratio = with as f64 / without as f64;
    assert!(
        (0.25..0.35).contains(&ratio),
        "{with} faults with feedback, {without} without: ratio {ratio}"
    );
    let blank = GenerationRequest {
        feedback: Some("  \n".into()),
        ..request("u", Language::Python, "x = 1\n")
    };
    assert_eq!(gen.effective_fault_rate(&blank), 0.2);
}

#[tokio::test]
async fn tokens_latency_and_cost_follow_the_documented_models() {
    let gen = simulated(1, 0.0);
    let req = request("u1", Language::Python, PY_SNIPPET);
    let response = gen.generate(&req).await.unwrap();
    let tokens_in = mge_generate::prompt::render(&req).estimated_tokens();
    let tokens_out = PY_SNIPPET.len().div_ceil(4) as u32;
    assert_eq!(
        (response.tokens_in, response.tokens_out),
        (tokens_in, tokens_out)
    );
    assert!(response.tokens_estimated);
    assert_eq!(
        response.latency,
        Duration::from_millis(400) + Duration::from_secs_f64(f64::from(tokens_out) / 60.0)
    );
    assert_eq!(response.model, "sim-coder-1");
    let cost = (f64::from(tokens_in) * 3.0 + f64::from(tokens_out) * 15.0) / 1e6;
    assert!((response.cost_usd - cost).abs() < 1e-15);
    assert_eq!(response.provider_attempts, 1);
    assert!(response.logprobs.is_none());
}

#[tokio::test(start_paused = true)]
async fn the_modelled_latency_is_awaited_scaled_by_time_scale() {
    for time_scale in [0.0, 0.5, 1.0, 2.0] {
        let gen = SimulatedGenerator::new(SimulatedConfig {
            time_scale,
            ..SimulatedConfig::default()
        })
        .unwrap();
        let start = tokio::time::Instant::now();
        let response = gen
            .generate(&request("u1", Language::Python, PY_SNIPPET))
            .await
            .unwrap();
        let waited = start.elapsed();
        let modelled = response.latency.as_secs_f64() * time_scale;
        assert!(
            (waited.as_secs_f64() - modelled).abs() < 1e-6,
            "scale {time_scale}: waited {waited:?}, modelled {modelled}"
        );
    }
}

#[tokio::test]
async fn missing_reference_and_bad_configuration_are_errors() {
    let gen = simulated(1, 0.01);
    let req = GenerationRequest {
        expected: None,
        ..request("task-3/atom-2", Language::Python, "")
    };
    let err = gen.generate(&req).await.unwrap_err();
    assert!(matches!(err, GenerateError::MissingExpected { .. }));
    assert_eq!(
        err.to_string(),
        "unit task-3/atom-2: the simulated provider needs the unit's reference code (`expected` is empty)"
    );
    let bad = |config: SimulatedConfig| SimulatedGenerator::new(config).unwrap_err().to_string();
    assert_eq!(
        bad(SimulatedConfig {
            fault_rate: 1.5,
            ..SimulatedConfig::default()
        }),
        "generator configuration: fault_rate: 1.5 is not in [0, 1]"
    );
    assert_eq!(
        bad(SimulatedConfig {
            time_scale: -1.0,
            ..SimulatedConfig::default()
        }),
        "generator configuration: time_scale: -1 is not a finite value >= 0"
    );
    let zero_mix = FaultMix {
        syntax: 0.0,
        misspelled_identifier: 0.0,
        arity_or_import: 0.0,
        logic: 0.0,
    };
    assert_eq!(
        bad(SimulatedConfig {
            fault_mix: zero_mix,
            ..SimulatedConfig::default()
        }),
        "generator configuration: fault_mix: all fault mix weights are 0"
    );
}
